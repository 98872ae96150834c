using AnnServer.Core.Hnsw;
using AnnServer.Core.Storage;

namespace AnnServer.Core.Filtering;

/// <summary>
/// One <see cref="IdSet"/>'s bits over one index's node slots: bit n is set when node n holds an id of the set. Nodes
/// below <see cref="View.Covered"/> have their bit right; later ones are tested by id (the compiled condition does).
/// </summary>
/// <remarks>
/// Node slots are only ever appended (an upsert of an existing id takes a new node and tombstones the old one;
/// compaction builds a new index, hence a new bitmap), so a bit once right stays right, and catching up is a look at
/// the nodes added since. It stops at the first node still being inserted (its id may not be written yet) or linked
/// but not committed (its id is not in the id map yet). The array is replaced when it grows, never shrunk; bits are
/// only set above the covered prefix, so a search reading an older view
/// reads bits that do not change under it.
/// </remarks>
internal sealed class IdSetNodeBitmap
{
    private readonly object _lock = new();
    private ulong[] _bits = [];
    private int _covered;
    private bool _built;

    /// <summary>What a compiled filter reads: the bits and how many nodes they are right for.</summary>
    internal readonly record struct View(ulong[] Bits, int Covered);

    public long MemoryBytes => (long)Volatile.Read(ref _bits).Length * sizeof(ulong);

    public static long BytesFor(int nodes) => ((long)nodes + 63) / 64 * sizeof(ulong);

    public View CatchUp(IdSet set, GraphStorage storage, NodeIdMap? nodeById)
    {
        lock (_lock)
        {
            int nodes = storage.NodeCount;
            if (_covered >= nodes) return new View(_bits, _covered);
            if ((long)_bits.Length * 64 < nodes)
            {
                // Room for an eighth more nodes, so a growing collection does not copy its bitmaps on every write.
                long words = ((long)nodes + nodes / 8 + 63) / 64;
                var grown = new ulong[words];
                _bits.CopyTo(grown, 0);
                Volatile.Write(ref _bits, grown);
            }
            ulong[] bits = _bits;
            int node = _covered;
            if (!_built && nodeById is not null && set.Count < nodes - node)
            {
                // First use, fewer ids than nodes: the id map names each id's live node (tombstones need no bit: they
                // are never returned), then the prefix of nodes whose insert has finished is covered.
                foreach (long id in set.SortedIds)
                    if (nodeById.TryGetValue(id, out int live) && live < nodes) bits[live >> 6] |= 1UL << live;
                while (node < nodes && storage.States[node] is not (NodeState.Pending or NodeState.Linked)) node++;
            }
            else
            {
                long[] ids = set.SortedIds;
                for (; node < nodes; node++)
                {
                    if (storage.States[node] is NodeState.Pending or NodeState.Linked) break;
                    if (ids.AsSpan().BinarySearch(storage.Ids[node]) >= 0) bits[node >> 6] |= 1UL << node;
                }
            }
            _built = true;
            _covered = node;
            return new View(bits, node);
        }
    }
}
