using Scale.Corpus.Sources;

namespace Scale.Corpus.Tests.Sources;

/// <summary>What a test keeps of an item after disposing it (the pooled bytes are only valid until then).</summary>
public sealed record ItemSnapshot(string Key, long Size, byte[] Data, bool Oversized, string? ReadError);

public static class CorpusSnapshot
{
    /// <summary>Reads a whole source, copying and disposing each item.</summary>
    public static async Task<List<ItemSnapshot>> ReadAllAsync(ICorpusSource source, Func<string, bool>? include = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        var items = new List<ItemSnapshot>();
        await foreach (var item in source.ReadAsync(include, CancellationToken.None))
        {
            using (item)
            {
                items.Add(Snapshot(item));
            }
        }

        return items;
    }

    public static ItemSnapshot Snapshot(CorpusItem item)
    {
        ArgumentNullException.ThrowIfNull(item);
        return new ItemSnapshot(item.Key, item.Size, item.Data.ToArray(), item.Oversized, item.ReadError);
    }

    /// <summary>Distinct bytes per name, so a mixed-up key shows as wrong data.</summary>
    public static byte[] ContentFor(string name, int length = 0)
    {
        var text = System.Text.Encoding.UTF8.GetBytes("MThd:" + name);
        if (length <= text.Length)
        {
            return text;
        }

        var data = new byte[length];
        for (var i = 0; i < length; i++)
        {
            data[i] = text[i % text.Length];
        }

        return data;
    }
}
