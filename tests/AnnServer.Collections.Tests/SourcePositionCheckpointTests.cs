using AnnServer.Core;
using AnnServer.Core.Snapshots;
using Microsoft.Extensions.Logging.Abstractions;

namespace AnnServer.Collections.Tests;

/// <summary>A collection imported from a snapshot that carries a source position (ann-build --source-position) keeps it
/// in every snapshot the server writes: checkpoints, and the rebuilt index of a compaction.</summary>
public sealed class SourcePositionCheckpointTests
{
    private const string KafkaOffsets = "items-embeddings:0=1042,1=998";

    [Fact]
    public async Task CheckpointsAndCompactionsCarryThePositionForward()
    {
        using var folder = new TempFolder();
        string built = Path.Combine(folder.Path, "items-v42.snap");
        long[] ids = Enumerable.Range(0, 200).Select(i => (long)i).ToArray();
        using (var index = new HnswIndex(new HnswOptions { Dimension = 4, M = 8, EfConstruction = 32 }) { SourcePosition = KafkaOffsets })
        {
            index.UpsertMany(TestData.RandomVectors(200, 4, seed: 1), ids);
            Snapshot.Save(index, built);
        }
        var dataDirectory = new DataDirectory(Path.Combine(folder.Path, "data"));
        await using var registry = new CollectionRegistry(dataDirectory, NullLogger<CollectionRegistry>.Instance,
            new DurabilityOptions { CompactDeletedFraction = 0.3 });
        await registry.LoadAsync([new SnapshotImport("items", built)], CancellationToken.None);
        using CollectionLease lease = registry.Acquire("items");
        string snapshot = DataDirectory.SnapshotPath(dataDirectory.CollectionFolder("items"));

        await lease.Collection.UpsertAsync(new UpsertBatch(4, [1_000], TestData.RandomVectors(1, 4, seed: 2), new int[]?[1]), CancellationToken.None);
        await lease.Collection.CheckpointAsync(CancellationToken.None);
        string? afterCheckpoint = Snapshot.ReadInfo(snapshot).SourcePosition;
        await lease.Collection.DeleteAsync(ids[..150], CancellationToken.None);
        await lease.Collection.CheckpointAsync(CancellationToken.None);

        Assert.Equal(KafkaOffsets, afterCheckpoint);
        Assert.Equal(1, lease.Collection.Compactions);
        Assert.Equal(KafkaOffsets, Snapshot.ReadInfo(snapshot).SourcePosition);
        Assert.Equal(KafkaOffsets, lease.Collection.CurrentIndex.SourcePosition);
    }
}
