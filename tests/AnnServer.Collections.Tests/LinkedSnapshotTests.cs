using AnnServer.Core;
using Microsoft.Extensions.Logging.Abstractions;

namespace AnnServer.Collections.Tests;

/// <summary>A collection whose snapshot.snap an operator placed as a symbolic link to a file elsewhere (another disk,
/// a shared copy): its status gives the file's length, and a checkpoint writes a file of its own in the link's place,
/// leaving the linked one as it was.</summary>
public sealed class LinkedSnapshotTests
{
    private const int Dimension = 4;

    [Fact]
    public async Task TheStatusAtStartGivesTheLengthOfTheLinkedFile()
    {
        using var folder = new TempFolder();
        string kept = await CollectionWithItsSnapshotLinkedAsync(folder);

        await using var registry = new CollectionRegistry(new DataDirectory(DataPath(folder)), NullLogger<CollectionRegistry>.Instance);
        await registry.LoadAsync([], CancellationToken.None);
        using CollectionLease lease = registry.Acquire("c");

        Assert.Equal(new FileInfo(kept).Length, lease.Collection.Status().SnapshotBytes);
        Assert.Equal(new FileInfo(kept).LastWriteTimeUtc, lease.Collection.Status().SnapshotTime.UtcDateTime);
    }

    [Fact]
    public async Task ACheckpointReplacesTheLinkWithItsOwnFileAndGivesThatFilesLength()
    {
        using var folder = new TempFolder();
        string kept = await CollectionWithItsSnapshotLinkedAsync(folder);
        byte[] keptBytes = File.ReadAllBytes(kept);

        await using var registry = new CollectionRegistry(new DataDirectory(DataPath(folder)), NullLogger<CollectionRegistry>.Instance);
        await registry.LoadAsync([], CancellationToken.None);
        using CollectionLease lease = registry.Acquire("c");
        await lease.Collection.UpsertAsync(new UpsertBatch(Dimension, [1_000], TestData.RandomVectors(1, Dimension, seed: 2), new int[]?[1]),
            CancellationToken.None);
        await lease.Collection.CheckpointAsync(CancellationToken.None);

        var snapshot = new FileInfo(SnapshotPath(folder));
        Assert.Null(snapshot.LinkTarget);
        Assert.Equal(snapshot.Length, lease.Collection.Status().SnapshotBytes);
        Assert.NotEqual(keptBytes.Length, snapshot.Length);
        Assert.Equal(keptBytes, File.ReadAllBytes(kept));
    }

    private static string DataPath(TempFolder folder) => Path.Combine(folder.Path, "data");

    private static string SnapshotPath(TempFolder folder) =>
        DataDirectory.SnapshotPath(new DataDirectory(DataPath(folder)).CollectionFolder("c"));

    /// <summary>Makes collection c of 200 points, checkpointed and closed, then moves its snapshot out of the data
    /// directory and links it back; returns where the snapshot is now.</summary>
    private static async Task<string> CollectionWithItsSnapshotLinkedAsync(TempFolder folder)
    {
        await using (var registry = new CollectionRegistry(new DataDirectory(DataPath(folder)), NullLogger<CollectionRegistry>.Instance))
        {
            await registry.LoadAsync([], CancellationToken.None);
            await registry.CreateAsync("c", new HnswOptions { Dimension = Dimension, M = 8, EfConstruction = 32 }, CancellationToken.None);
            using CollectionLease lease = registry.Acquire("c");
            long[] ids = Enumerable.Range(0, 200).Select(i => (long)i).ToArray();
            await lease.Collection.UpsertAsync(new UpsertBatch(Dimension, ids, TestData.RandomVectors(200, Dimension, seed: 1), new int[]?[200]),
                CancellationToken.None);
            await lease.Collection.CheckpointAsync(CancellationToken.None);
        }
        string kept = Path.Combine(folder.Path, "kept.snap");
        File.Move(SnapshotPath(folder), kept);
        File.CreateSymbolicLink(SnapshotPath(folder), kept);
        return kept;
    }
}
