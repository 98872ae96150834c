using System.Runtime.CompilerServices;
using AnnServer.Core.Hnsw;
using AnnServer.Core.Storage;

namespace AnnServer.Core.Filtering;

/// <summary>
/// A set of point ids that filters refer to by name (<see cref="InIdSet"/>): "what this user has seen", registered once
/// instead of sent with every request. Immutable; shared by every search that names it.
/// </summary>
/// <remarks>
/// The set keeps its ids (sorted, 8 bytes each) and, per index it is used on, a bitmap over that index's node slots
/// (<see cref="IdSetNodeBitmap"/>, 1 bit per node), so the walk's test is one load and a bit test. The ids stay the
/// truth: a point upserted after the set was put gets a new node, which the bitmap catches up with when the next filter
/// naming the set is compiled (one lookup per node added since), and a node added later still is tested by its id.
/// Plain bitmaps and not roaring: measured in docs/api.md ("Stored id sets").
/// </remarks>
public sealed class IdSet
{
    private readonly long[] _sortedIds;
    private readonly ConditionalWeakTable<GraphStorage, IdSetNodeBitmap> _bitmaps = new();

    public IdSet(IEnumerable<long> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        long[] sorted = [.. ids];
        Array.Sort(sorted);
        int distinct = 0;
        for (int i = 0; i < sorted.Length; i++)
            if (i == 0 || sorted[i] != sorted[distinct - 1]) sorted[distinct++] = sorted[i];
        _sortedIds = distinct == sorted.Length ? sorted : sorted[..distinct];
    }

    /// <summary>Distinct ids in the set.</summary>
    public int Count => _sortedIds.Length;

    /// <summary>The ids, ascending.</summary>
    public ReadOnlySpan<long> Ids => _sortedIds;

    public bool Contains(long id) => _sortedIds.AsSpan().BinarySearch(id) >= 0;

    /// <summary>Bytes held: the ids and every bitmap built so far.</summary>
    public long MemoryBytes
    {
        get
        {
            long bytes = (long)_sortedIds.Length * sizeof(long);
            foreach (var (_, bitmap) in _bitmaps) bytes += bitmap.MemoryBytes;
            return bytes;
        }
    }

    /// <summary>Bytes a set of <paramref name="ids"/> ids will hold once used on an index of <paramref name="nodes"/> nodes.</summary>
    public static long EstimateBytes(int ids, int nodes) => (long)ids * sizeof(long) + IdSetNodeBitmap.BytesFor(nodes);

    internal long[] SortedIds => _sortedIds;

    /// <summary>The set's bitmap over <paramref name="storage"/>'s nodes, caught up with the nodes added since it was
    /// last asked. Called under the index's map lock (the id map and node states are stable meanwhile).</summary>
    internal IdSetNodeBitmap.View BitmapFor(GraphStorage storage, NodeIdMap? nodeById) =>
        _bitmaps.GetValue(storage, static _ => new IdSetNodeBitmap()).CatchUp(this, storage, nodeById);
}
