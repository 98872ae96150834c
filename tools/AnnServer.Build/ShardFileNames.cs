using System.Globalization;

namespace AnnServer.Build;

/// <summary>
/// The file names of <c>ann-build build --shards S</c>: <c>--output out.snap</c> gives <c>out.shard-0-of-4.snap</c> ...
/// <c>out.shard-3-of-4.snap</c>. The shard count is part of the name so that files of builds with different counts never
/// mix: shard 1 of 4 and shard 1 of 8 hold different points (docs/cluster.md, "Building shard snapshots offline").
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
}
