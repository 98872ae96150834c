using AnnServer.Core;
using AnnServer.Core.Hnsw;
using AnnServer.Core.Storage;

namespace AnnServer.Collections;

/// <summary>
/// Predicts how much a write will add to a collection's <c>MemoryBytes</c>, before it is applied, so that the
/// <see cref="MemoryBudget"/> can refuse it. The arithmetic mirrors the storage of src/AnnServer.Core: per node a
/// vector row (float32, 64-byte aligned), an int8 or int4 code row when quantized, a level-0 link row (count + 2M ids), all in
/// native chunks of 8 to 16 MiB allocated whole (NativeRowStore); per node an id, a state and a level-0 in-link count in
/// native arrays that grow by chunks of 524,288 (NativeChunkedArray), and an upper-list reference in a managed array that
/// grows by chunks of 16,384 (ChunkedArray); labels, where a point has any (an array, and a chunk of
/// 16,384 references the first time a node of that chunk has labels); the id map's table, which doubles (NodeIdMap); upper link lists for the 1 in M nodes
/// that reach level 1 and above. Every upserted point is a new node, a replacement too (the old node stays as a
/// tombstone until the index is rebuilt), so the chunk steps are predicted from the node count, tombstones included.
/// ResourceLimitTests compares the prediction with the index's own count.
/// </summary>
public static class MemoryEstimate
{
    private const int ManagedChunk = ChunkedArray<int[]>.ChunkSize;
    private const int ManagedBytesPerNode = 8; // upper-list references
    private const int NativeArrayChunk = NativeChunkedArray<long>.ChunkSize;
    private const int NativeArrayBytesPerNode = 8 + 1 + 4; // ids, states, level-0 in-link counts

    /// <summary>The bytes <paramref name="added"/> new nodes add to a collection that has <paramref name="nodesBefore"/>.</summary>
    public static long UpsertBytes(int dimension, int m, VectorQuantization quantization, long nodesBefore, long added)
    {
        long after = nodesBefore + added;
        long bytes = NativeBytes(GraphStorage.VectorRowBytesFor(dimension), nodesBefore, after)
                     + NativeBytes(GraphStorage.Level0RowBytesFor(m), nodesBefore, after)
                     + (quantization == VectorQuantization.Int8 ? NativeBytes(Int8Codes.RowBytes(dimension), nodesBefore, after) : 0)
                     + (quantization == VectorQuantization.Int4 ? NativeBytes(Int4Codes.RowBytes(dimension), nodesBefore, after) : 0)
                     + (Capacity(after, ManagedChunk) - Capacity(nodesBefore, ManagedChunk)) * ManagedBytesPerNode
                     + (Capacity(after, NativeArrayChunk) - Capacity(nodesBefore, NativeArrayChunk)) * NativeArrayBytesPerNode
                     + NodeIdMap.BytesFor(after) - NodeIdMap.BytesFor(nodesBefore);
        // Expected upper levels per node: a node reaches level l with probability M^−l, so Σ M^−l = 1/(M−1) levels of
        // M+1 ints, and an array header for the 1/M of nodes that have any.
        double upper = 4.0 * (m + 1) / Math.Max(1, m - 1) + 24.0 / Math.Max(1, m);
        return bytes + added * (long)Math.Ceiling(upper);
    }

    /// <summary>Bytes of a point's label array: an int[] of <paramref name="labels"/> entries (none when 0). The chunk
    /// of label references a first labelled node allocates (128 KiB per 16,384 nodes) is left to the next measurement.</summary>
    public static long LabelBytes(int labels) => labels == 0 ? 0 : 24 + 4L * labels;

    /// <summary>The sum of the collections' MemoryBytes (walks every node: see <see cref="MemoryBudget"/> for how often).
    /// Each collection is leased while it is measured, so a concurrent drop cannot free it under the walk.</summary>
    public static long HeldBy(CollectionRegistry registry)
    {
        long total = 0;
        foreach (Collection collection in registry.Collections)
        {
            try
            {
                using CollectionLease lease = registry.Acquire(collection.Name);
                total += lease.Collection.MemoryBytes;
            }
            catch (Exception e) when (e is CollectionNotFoundException or CollectionsLoadingException)
            {
                // dropped meanwhile, or not served yet
            }
        }
        return total;
    }

    /// <summary>Native chunks are allocated whole: the bytes of the chunks <paramref name="after"/> rows need beyond
    /// those <paramref name="before"/> rows had.</summary>
    private static long NativeBytes(int rowBytes, long before, long after)
    {
        long rows = 1L << NativeRowStore.ChunkShiftFor(rowBytes);
        long chunks = (after + rows - 1) / rows - (before + rows - 1) / rows;
        return chunks * rows * rowBytes;
    }

    /// <summary>Capacity of a chunked array holding <paramref name="nodes"/>: whole chunks.</summary>
    private static long Capacity(long nodes, int chunk) => (nodes + chunk - 1) / chunk * chunk;
}
