using System.Security.Cryptography;
using System.Text.Json;

namespace Scale.Lab;

/// <summary>The lab's passwords: made at the first `up`, kept in its folder readable by its owner only, never printed.</summary>
public sealed record LabSecrets(string SuperuserPassword, string ReplicationPassword, string AppPassword)
{
    public static LabSecrets LoadOrCreate(string path)
    {
        if (File.Exists(path))
        {
            return JsonSerializer.Deserialize<LabSecrets>(File.ReadAllText(path))
                ?? throw new InvalidDataException($"{path} is not a lab secrets file");
        }

        var secrets = new LabSecrets(NewPassword(), NewPassword(), NewPassword());
        File.WriteAllText(path, JsonSerializer.Serialize(secrets));
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        return secrets;
    }

    // Letters and digits only: safe in connection strings, URLs and YAML without quoting rules.
    private static string NewPassword() => RandomNumberGenerator.GetString("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 32);
}
