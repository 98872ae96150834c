using AnnServer.Core.Filtering;
using AnnServer.Core.Storage;

namespace AnnServer.Core.Payloads;

/// <summary>
/// A numeric field's values sorted, each with its node: the nodes whose value lies in a range are one slice of it,
/// found by two binary searches, so a selective range filter visits its own nodes instead of testing every node's value.
/// Built on the first range filter that asks (a field nobody ranges over costs nothing), then kept usable under writes
/// by a tail of the nodes written since, and rebuilt once that tail or the removals since grow past
/// <see cref="StaleAfter"/>.
/// </summary>
/// <remarks>
/// Layout: <c>Keys[i]</c> ascending, <c>Nodes[i]</c> the node that held <c>Keys[i]</c> when the run was built (a list
/// field lists a node once per distinct element). Only live nodes with a value are in a run.
/// <para>
/// Why lazily rebuilt rather than maintained in place: the candidates only have to hold every node that can pass, since
/// a scan tests each one against the whole filter and drops repeats, tombstones and nodes that no longer pass (as it
/// does with keyword postings, which are append-only). So a write needs only to append its node to the tail (a few
/// nanoseconds, no allocation once the tail has grown), a removal or delete needs nothing but a count, and the run stays
/// an immutable pair of flat arrays that searches read without a lock. A sorted structure updated in place (a B-tree, a
/// skip list) would cost every write a search and a node allocation, and every read a lock or a persistent structure,
/// for a tail that the rebuild keeps short. The price: a range query's candidates include up to
/// <see cref="StaleAfter"/> tail nodes, and the query that finds the index stale pays the rebuild (a scan of the column
/// and a sort: about 5 ms for 60,000 values, under the index's map lock).
/// </para>
/// Used under the index's map lock only; what <see cref="Find"/> returns is read by searches without it.
/// </remarks>
internal sealed class NumericRangeIndex<T> where T : struct, IComparable<T>
{
    /// <summary>The fewest tail nodes or removals that make the run stale (small indexes; large ones: 1/64 of the run).</summary>
    public const int MinStaleAfter = 256;

    private T[] _keys = [];
    private int[] _nodes = [];
    private int _count;
    private bool _built;
    private NodePostings _tail = new();
    private int _removals;
    private bool _stale;

    /// <summary>Tail nodes or removals past which the run is rebuilt before it answers again.</summary>
    public int StaleAfter => Math.Max(MinStaleAfter, _count / 64);

    /// <summary>Whether <see cref="Find"/> may answer now; otherwise the column rebuilds the run first.</summary>
    public bool IsCurrent => _built && !_stale;

    /// <summary>Entries in the run (for tests and memory figures).</summary>
    public int Count => _count;

    public long MemoryBytes => _built
        ? (long)_keys.Length * System.Runtime.CompilerServices.Unsafe.SizeOf<T>() + _nodes.Length * sizeof(int) + _tail.MemoryBytes
        : 0;

    /// <summary>A node's value was written (set or changed): it joins the tail until the next rebuild.</summary>
    public void NoteWritten(int node)
    {
        if (!IsCurrent) return;
        if (_tail.Read().Count >= StaleAfter) _stale = true;
        else _tail.Add(node);
    }

    /// <summary>A node's value was removed or its node deleted: its entry is now stale (the scan's test drops it).</summary>
    public void NoteRemoved()
    {
        if (IsCurrent && ++_removals >= StaleAfter) _stale = true;
    }

    /// <summary>Replaces the run by the live nodes' values of a column of one value per node.</summary>
    public void Rebuild(PayloadColumn column, SparseChunkedArray<T> values, int nodeCount, Predicate<int> isLive)
    {
        int count = 0;
        for (int node = 0; node < nodeCount; node++)
            if (column.IsPresent(node) && isLive(node)) count++;
        var keys = new T[count];
        var nodes = new int[count];
        int filled = 0;
        for (int node = 0; node < nodeCount && filled < count; node++)
        {
            if (!column.IsPresent(node) || !isLive(node)) continue;
            keys[filled] = values[node];
            nodes[filled++] = node;
        }
        Publish(keys, nodes, filled);
    }

    /// <summary>
    /// Replaces the run by <paramref name="count"/> (value, node) pairs, sorted here; the arrays become the index's.
    /// </summary>
    public void Publish(T[] keys, int[] nodes, int count)
    {
        Array.Sort(keys, nodes, 0, count);
        _keys = keys;
        _nodes = nodes;
        _count = count;
        _tail = new NodePostings();
        _removals = 0;
        _stale = false;
        _built = true;
    }

    /// <summary>
    /// The candidates of [<paramref name="low"/>, <paramref name="high"/>] (inclusive): the run's slice and the tail,
    /// and an estimate of the live nodes within: the slice, less the removals and plus the tail in proportion.
    /// </summary>
    public (CandidateList Slice, CandidateList Tail, double Estimate) Find(T low, T high)
    {
        int start = LowerBound(low, inclusive: true);
        int end = LowerBound(high, inclusive: false);
        int sliced = Math.Max(0, end - start);
        var (tailNodes, tailCount) = _tail.Read();
        double share = _count == 0 ? 0 : sliced / (double)_count;
        double estimate = Math.Max(0, sliced + (tailCount - _removals) * share);
        return (new CandidateList(_nodes, start, sliced), new CandidateList(tailNodes, 0, tailCount), estimate);
    }

    /// <summary>The first index whose key is ≥ <paramref name="value"/> (inclusive) or &gt; it (not inclusive).</summary>
    private int LowerBound(T value, bool inclusive)
    {
        T[] keys = _keys;
        int low = 0, high = _count;
        while (low < high)
        {
            int middle = (int)((uint)(low + high) >> 1);
            int order = keys[middle].CompareTo(value);
            if (order < 0 || (!inclusive && order == 0)) low = middle + 1;
            else high = middle;
        }
        return low;
    }
}
