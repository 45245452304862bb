namespace Scale.Corpus.Sources;

/// <summary>
/// A bucket and a key prefix, parsed from "s3://bucket/prefix". The prefix is a folder: "s3://b/lmd_full" and
/// "s3://b/lmd_full/" both mean the keys under "lmd_full/", so keys relative to it match a folder source's keys.
/// </summary>
public sealed record S3Location(string Bucket, string Prefix)
{
    public const string Scheme = "s3://";

    /// <exception cref="ArgumentException">Not an s3://bucket[/prefix] address.</exception>
    public static S3Location Parse(string uri)
    {
        ArgumentNullException.ThrowIfNull(uri);
        if (!uri.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException($"'{uri}' is not an S3 address; expected s3://bucket/prefix.", nameof(uri));
        }

        var rest = uri[Scheme.Length..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        var bucket = slash < 0 ? rest : rest[..slash];
        var prefix = slash < 0 ? string.Empty : rest[(slash + 1)..];
        if (bucket.Length == 0 || bucket.Any(char.IsWhiteSpace))
        {
            throw new ArgumentException($"'{uri}' has no valid bucket name; expected s3://bucket/prefix.", nameof(uri));
        }

        if (prefix.Length > 0 && !prefix.EndsWith('/'))
        {
            prefix += "/";
        }

        return new S3Location(bucket, prefix);
    }

    public override string ToString() => Scheme + Bucket + "/" + Prefix;
}
