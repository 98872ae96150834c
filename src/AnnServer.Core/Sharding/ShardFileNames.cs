using System.Globalization;

namespace AnnServer.Core.Sharding;

/// <summary>
/// The file names of <c>ann-build build --shards S</c>: <c>--output out.snap</c> gives <c>out.shard-0-of-4.snap</c> ...
/// <c>out.shard-3-of-4.snap</c>. The shard count is part of the name so that files of builds with different counts never
/// mix: shard 1 of 4 and shard 1 of 8 hold different points (docs/cluster.md, "Building shard snapshots offline"). The
/// build writes these names and a cluster import reads them back, both through this type.
/// </summary>
public static class ShardFileNames
{
    /// <summary>The file of shard <paramref name="shard"/> of <paramref name="shards"/>: the shard tag goes before the
    /// extension (<c>out.snap</c> → <c>out.shard-2-of-4.snap</c>; a name without extension gets it at the end).</summary>
    public static string For(string output, int shard, int shards)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(shards, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(shard);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(shard, shards);
        string folder = Path.GetDirectoryName(output) ?? "";
        string extension = Path.GetExtension(output);
        string stem = Path.GetFileNameWithoutExtension(output);
        string tag = string.Create(CultureInfo.InvariantCulture, $".shard-{shard}-of-{shards}");
        return Path.Combine(folder, stem + tag + extension);
    }

    /// <summary>
    /// Whether <paramref name="fileName"/> (a name without folder) is one of the shard files of <paramref name="output"/>
    /// (its folder ignored), and which: the inverse of <see cref="For"/>. Numbers are decimal digits, at most 9.
    /// </summary>
    public static bool TryParse(string output, string fileName, out int shard, out int shards)
    {
        shard = shards = 0;
        string extension = Path.GetExtension(output);
        string prefix = Path.GetFileNameWithoutExtension(output) + ".shard-";
        if (!fileName.StartsWith(prefix, StringComparison.Ordinal) || !fileName.EndsWith(extension, StringComparison.Ordinal)
            || fileName.Length < prefix.Length + extension.Length)
            return false;
        ReadOnlySpan<char> tag = fileName.AsSpan(prefix.Length, fileName.Length - prefix.Length - extension.Length);
        int of = tag.IndexOf("-of-", StringComparison.Ordinal);
        return of > 0 && TryParseNumber(tag[..of], out shard) && TryParseNumber(tag[(of + 4)..], out shards)
            && shards >= 1 && shard < shards;
    }

    private static bool TryParseNumber(ReadOnlySpan<char> digits, out int value)
    {
        value = 0;
        if (digits.Length is < 1 or > 9) return false;
        foreach (char digit in digits)
        {
            if (digit is < '0' or > '9') return false;
            value = value * 10 + (digit - '0');
        }
        return true;
    }
}
