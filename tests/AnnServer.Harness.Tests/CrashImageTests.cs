using AnnServer.Collections;
using AnnServer.Core;
using AnnServer.Core.Snapshots;
using AnnServer.Datasets;
using AnnServer.Harness.Recovery;
using Microsoft.Extensions.Logging.Abstractions;

namespace AnnServer.Harness.Tests;

/// <summary>The crash image `ann-bench recovery` restarts servers on is what a killed server leaves: the collections
/// library opens it as a collection whose log replays every point onto the snapshot's.</summary>
public sealed class CrashImageTests
{
    [Fact]
    public async Task TheImageOpensAsTheSnapshotPlusEveryPointOfTheLog()
    {
        string work = Path.Combine(Path.GetTempPath(), "crash-image-" + Guid.NewGuid().ToString("N"));
        try
        {
            const int dimension = 4, snapshotPoints = 50, logPoints = 250;
            var random = new Random(3);
            float[] data = Enumerable.Range(0, (snapshotPoints + logPoints) * dimension).Select(_ => (float)random.NextDouble()).ToArray();
            Directory.CreateDirectory(work);
            string snapshot = Path.Combine(work, "s.snap");
            using (var index = new HnswIndex(new HnswOptions { Dimension = dimension, M = 8, EfConstruction = 32 }))
            {
                index.UpsertMany(data.AsMemory(0, snapshotPoints * dimension), Enumerable.Range(0, snapshotPoints).Select(i => (long)i).ToArray());
                Snapshot.Save(index, snapshot, logPosition: 0);
            }
            var tail = new VectorSet(data[(snapshotPoints * dimension)..], logPoints, dimension);

            await CrashImage.WriteAsync(Path.Combine(work, "data"), "c", snapshot, tail, logPoints, firstId: 1000);

            await using var registry = new CollectionRegistry(new DataDirectory(Path.Combine(work, "data")), NullLogger<CollectionRegistry>.Instance);
            await registry.LoadAsync([], CancellationToken.None);
            using CollectionLease lease = registry.Acquire("c");
            Assert.Equal(snapshotPoints + logPoints, lease.Collection.Count);
            Assert.Equal((logPoints + CrashImage.PointsPerRecord - 1) / CrashImage.PointsPerRecord, lease.Collection.Recovery!.RecordsApplied);
            var vector = new float[dimension];
            Assert.True(lease.Collection.TryGet(1000 + logPoints - 1, vector, out _));
            Assert.Equal(tail.Row(logPoints - 1).ToArray(), vector);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }
}
