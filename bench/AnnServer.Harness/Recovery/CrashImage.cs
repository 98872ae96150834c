using AnnServer.Collections;
using AnnServer.Datasets;
using AnnServer.Storage;

namespace AnnServer.Harness.Recovery;

/// <summary>
/// The data folder a server leaves when it is killed with a log tail beyond its snapshot: one collection whose snapshot
/// is a given file and whose log holds the given points as Upsert records of <see cref="PointsPerRecord"/>, exactly what
/// a server acknowledging those Upserts writes (the log format is one; only the graph inserts are skipped). Writing the
/// log directly takes seconds where acknowledging 500,000 points through a server takes minutes at graph-insert speed.
/// </summary>
public static class CrashImage
{
    public const int PointsPerRecord = 100;

    /// <summary>Makes <paramref name="dataDir"/> anew with collection <paramref name="collection"/>; the tail's points get
    /// ids <paramref name="firstId"/>, <paramref name="firstId"/>+1, …</summary>
    public static async Task WriteAsync(string dataDir, string collection, string snapshot, VectorSet tail, int points, long firstId)
    {
        if (Directory.Exists(dataDir)) Directory.Delete(dataDir, recursive: true);
        string folder = Path.Combine(dataDir, collection);
        Directory.CreateDirectory(folder);
        File.Copy(snapshot, DataDirectory.SnapshotPath(folder));
        await using CollectionLog log = CollectionLog.Open(DataDirectory.LogFolder(folder));
        int dimension = tail.Dimension;
        for (int from = 0; from < points; from += PointsPerRecord)
        {
            int count = Math.Min(PointsPerRecord, points - from);
            var ids = new long[count];
            for (int i = 0; i < count; i++) ids[i] = firstId + from + i;
            float[] vectors = tail.Data.AsSpan(from * dimension, count * dimension).ToArray();
            await log.EnqueueAsync(LogRecord.Upsert(collection, dimension, ids, vectors));
        }
        await log.CommitAsync();
    }
}
