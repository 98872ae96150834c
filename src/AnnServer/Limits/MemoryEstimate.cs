using AnnServer.Collections;

namespace AnnServer.Limits;

/// <summary>
/// The bytes a write will add to a collection, estimated before it is applied, from the node layout of
/// src/AnnServer.Core/Hnsw/GraphStorage.cs and what <c>HnswIndex.MemoryBytes</c> counts. Every upserted point costs a
/// new node, a replacement too (the old node stays as a tombstone until the index is rebuilt).
/// </summary>
public static class MemoryEstimate
{
    /// <summary>An empty collection: the index's lock stripes, pools and first chunks, measured at about 0.2 MB
    /// (MemoryEstimateTests), rounded up.</summary>
    public const long EmptyCollectionBytes = 1 << 20;

    /// <summary>
    /// Per node: the vector row (float32, rounded up to 64 bytes), the level-0 link list (count + 2M ids), the expected
    /// upper link lists (a node reaches level l with probability M^−l, so 1/(M−1) levels of M+1 ints on average, plus
    /// an array header with probability 1/M), id, state, label and upper-list references, and the id map's entry.
    /// </summary>
    public static long BytesPerPoint(int dimension, int m)
    {
        long vector = (dimension * 4L + 63) / 64 * 64;
        long level0 = 4L * (1 + 2 * m);
        long upper = (long)Math.Ceiling(4.0 * (m + 1) / Math.Max(1, m - 1) + 24.0 / Math.Max(1, m));
        const long bookkeeping = 8 + 1 + 8 + 8 + 24;
        return vector + level0 + upper + bookkeeping;
    }

    /// <summary>Bytes of a points' label array: an int[] of <paramref name="labels"/> entries (none when 0).</summary>
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
}
