using AnnServer.Core.Filtering;
using AnnServer.Core.Storage;

namespace AnnServer.Core.Payloads;

/// <summary>
/// A numeric field's values sorted, each with its node: the nodes whose value lies in a range are one slice of it,
/// found by two binary searches, so a selective range filter visits its own nodes instead of testing every node's value.
/// Built on the first range filter that asks (a field nobody ranges over costs nothing), then kept usable under writes
/// by a tail of the nodes written since, and refreshed once that tail or the removals since grow past
/// <see cref="StaleAfter"/>.
/// </summary>
/// <remarks>
/// Layout: <c>Keys[i]</c> ascending, <c>Nodes[i]</c> the node that held <c>Keys[i]</c> when the run was made (a list
/// field lists a node once per distinct element). Only live nodes with a value are in a run when it is made.
/// <para>
/// Why lazily rebuilt rather than maintained in place: the candidates only have to hold every node that can pass, since
/// a scan tests each one against the whole filter and drops repeats, tombstones and nodes that no longer pass (as it
/// does with keyword postings, which are append-only). So a write needs only to append its node to the tail (a few
/// nanoseconds, no allocation once the tail has grown), a removal or delete needs nothing but a count, and the run stays
/// an immutable pair of flat arrays that searches read without a lock. A sorted structure updated in place (a B-tree, a
/// skip list) would cost every write a search and a node allocation, and every read a lock or a persistent structure,
/// for a tail that the refresh keeps short.
/// </para>
/// <para>
/// The query that finds the run stale pays for its refresh, under the index's map lock, so writers wait for it: the
/// run's entries still current (their node live, with a value, and not written since: every change of a value comes
/// through <see cref="NoteWritten"/>) are merged with the tail's nodes' entries, sorted alone. That is one pass over the
/// run, where sorting it whole took about 5 ms for 60,000 values and grows as n log n (about 0.1 s at 1,000,000, every
/// n/64 writes). Only a tail as long as the run itself, where a whole rebuild costs no more, drops the run instead,
/// which also bounds what the tail holds while no range filter comes.
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

    /// <summary>Adds the distinct keys a live node with a value holds (one for a single-valued field).</summary>
    public delegate void KeysOf(int node, List<T> keys);

    /// <summary>Tail nodes or removals past which the run is refreshed before it answers again.</summary>
    public int StaleAfter => Math.Max(MinStaleAfter, _count / 64);

    /// <summary>Whether <see cref="Find"/> may answer now; otherwise <see cref="Update"/> first.</summary>
    public bool IsCurrent => _built && !_stale;

    /// <summary>Entries in the run (for tests and memory figures).</summary>
    public int Count => _count;

    /// <summary>Runs made by a whole scan of the column, as opposed to refreshes (for tests).</summary>
    internal int Rebuilds { get; private set; }

    public long MemoryBytes => _built
        ? (long)_keys.Length * System.Runtime.CompilerServices.Unsafe.SizeOf<T>() + _nodes.Length * sizeof(int) + _tail.MemoryBytes
        : 0;

    /// <summary>A node's value was written (set or changed): it joins the tail until the next refresh.</summary>
    public void NoteWritten(int node)
    {
        if (!_built) return;
        int tail = _tail.Read().Count;
        if (tail >= Math.Max(MinStaleAfter, _count))
        {
            Drop();
            return;
        }
        _tail.Add(node);
        if (tail + 1 >= StaleAfter) _stale = true;
    }

    /// <summary>A node's value was removed or its node deleted: its entry is now stale (the scan's test drops it).</summary>
    public void NoteRemoved()
    {
        if (_built && ++_removals >= StaleAfter) _stale = true;
    }

    /// <summary>Makes the run current: refreshed from its tail, or built by a scan of the column when there is none.</summary>
    /// <param name="hasValue">whether a node holds a value of the field.</param>
    public void Update(int nodeCount, Predicate<int> isLive, Predicate<int> hasValue, KeysOf keysOf)
    {
        if (IsCurrent) return;
        if (_built) Refresh(nodeCount, isLive, hasValue, keysOf);
        else Rebuild(nodeCount, isLive, hasValue, keysOf);
    }

    private void Rebuild(int nodeCount, Predicate<int> isLive, Predicate<int> hasValue, KeysOf keysOf)
    {
        var keys = new List<T>();
        var nodes = new List<int>();
        for (int node = 0; node < nodeCount; node++)
            if (hasValue(node) && isLive(node)) AddEntries(node, keysOf, keys, nodes);
        T[] keyArray = [.. keys];
        int[] nodeArray = [.. nodes];
        Array.Sort(keyArray, nodeArray);
        Publish(keyArray, nodeArray, keyArray.Length);
        Rebuilds++;
    }

    /// <summary>The run's entries still current merged with the tail nodes' entries, sorted alone.</summary>
    private void Refresh(int nodeCount, Predicate<int> isLive, Predicate<int> hasValue, KeysOf keysOf)
    {
        var (tailNodes, tailCount) = _tail.Read();
        var rewritten = new System.Collections.BitArray(nodeCount);
        var keys = new List<T>();
        var nodes = new List<int>();
        for (int i = 0; i < tailCount; i++)
        {
            int node = tailNodes[i];
            if (rewritten[node]) continue;
            rewritten[node] = true;
            if (hasValue(node) && isLive(node)) AddEntries(node, keysOf, keys, nodes);
        }
        T[] tailKeys = [.. keys];
        int[] tailEntryNodes = [.. nodes];
        Array.Sort(tailKeys, tailEntryNodes);

        var mergedKeys = new T[_count + tailKeys.Length];
        var mergedNodes = new int[mergedKeys.Length];
        int merged = 0, fromTail = 0;
        for (int i = 0; i < _count; i++)
        {
            int node = _nodes[i];
            if (rewritten[node] || !isLive(node) || !hasValue(node)) continue;
            for (; fromTail < tailKeys.Length && tailKeys[fromTail].CompareTo(_keys[i]) < 0; fromTail++, merged++)
                (mergedKeys[merged], mergedNodes[merged]) = (tailKeys[fromTail], tailEntryNodes[fromTail]);
            (mergedKeys[merged], mergedNodes[merged]) = (_keys[i], node);
            merged++;
        }
        for (; fromTail < tailKeys.Length; fromTail++, merged++)
            (mergedKeys[merged], mergedNodes[merged]) = (tailKeys[fromTail], tailEntryNodes[fromTail]);
        Publish(mergedKeys, mergedNodes, merged);
    }

    private static void AddEntries(int node, KeysOf keysOf, List<T> keys, List<int> nodes)
    {
        int before = keys.Count;
        keysOf(node, keys);
        for (int i = before; i < keys.Count; i++) nodes.Add(node);
    }

    private void Publish(T[] keys, int[] nodes, int count)
    {
        _keys = keys;
        _nodes = nodes;
        _count = count;
        _tail = new NodePostings();
        _removals = 0;
        _stale = false;
        _built = true;
    }

    private void Drop()
    {
        _keys = [];
        _nodes = [];
        _count = 0;
        _tail = new NodePostings();
        _removals = 0;
        _stale = false;
        _built = false;
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
