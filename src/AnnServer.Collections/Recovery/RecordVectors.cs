using AnnServer.Core.Distance;
using AnnServer.Storage;

namespace AnnServer.Collections;

/// <summary>
/// The finite-value check of vectors that enter a collection as log records, from its own log (replay, a compaction's
/// catch-up: <see cref="LogRecordApplier"/>) or from a cluster stream (<see cref="WritePipeline.EnqueueStreamRecordAsync"/>),
/// rather than through the server's request edge, which checks every vector of a client's request. It is the one check
/// those vectors get: the index is then written through its unchecked entries, which only assert.
/// Their dimension is checked by the same callers, against the collection's.
/// </summary>
internal static class RecordVectors
{
    /// <exception cref="ArgumentException">a vector of the upsert record has a NaN or infinite component.</exception>
    public static void CheckFinite(LogRecord record, string source)
    {
        float[] vectors = record.Vectors!;
        int dimension = record.Dimension;
        for (int i = 0; i < record.Count; i++)
        {
            if (!VectorMath.AllFinite(vectors.AsSpan(i * dimension, dimension)))
                throw new ArgumentException($"{source}: point {i} (id {record.Ids[i]}) has a NaN or infinite component", nameof(record));
        }
    }
}
