using AnnServer.Core.Filtering;
using AnnServer.Core.Hnsw;
using AnnServer.Core.Payloads;

namespace AnnServer.Core;

public sealed partial class HnswIndex
{
    /// <summary>Largest page <see cref="Scroll"/> returns.</summary>
    public const int MaxScrollLimit = 10_000;

    /// <summary>
    /// A point's payload: every field it has, or only those of <paramref name="fields"/> it has (in that order). False
    /// when the id is unknown.
    /// </summary>
    public bool TryGetPayload(long id, out Payload payload, IReadOnlyCollection<string>? fields = null)
    {
        lock (_mapLock)
        {
            if (!_nodeById.TryGetValue(id, out int node))
            {
                payload = new Payload();
                return false;
            }
            payload = _payloads.Read(node, fields);
            return true;
        }
    }

    /// <summary>
    /// Sets the given fields of an existing point (others stay), without touching its vector or its place in the graph.
    /// False when the id is unknown. A refused payload changes nothing.
    /// </summary>
    /// <exception cref="ArgumentException">as for <see cref="Upsert(long, ReadOnlySpan{float}, Payload?, ReadOnlySpan{int})"/>.</exception>
    public bool SetPayload(long id, Payload fields)
    {
        ArgumentNullException.ThrowIfNull(fields);
        lock (_mapLock)
        {
            if (!_nodeById.TryGetValue(id, out int node)) return false;
            _payloads.Validate([fields], nameof(fields));
            int total = fields.Count;
            foreach (var column in _payloads.Columns)
                if (column.IsPresent(node) && !fields.TryGetValue(column.Name, out _)) total++;
            if (total > PayloadLimits.MaxFieldsPerPoint)
                throw new ArgumentException($"point {id} would have {total} fields, more than the limit MaxFieldsPerPoint ({PayloadLimits.MaxFieldsPerPoint})", nameof(fields));
            _payloads.AddColumns(fields);
            _payloads.Write(node, fields, live: true);
        }
        RelinkUpdatedNode(id, fields);
        return true;
    }

    /// <summary>Removes the named fields of an existing point (names it does not have are ignored). False when the id is unknown.</summary>
    public bool DeletePayloadFields(long id, IReadOnlyCollection<string> fields)
    {
        ArgumentNullException.ThrowIfNull(fields);
        lock (_mapLock)
        {
            if (!_nodeById.TryGetValue(id, out int node)) return false;
            _payloads.Remove(node, fields, live: true);
            return true;
        }
    }

    /// <summary>Removes every payload field of an existing point. False when the id is unknown.</summary>
    public bool ClearPayload(long id)
    {
        lock (_mapLock)
        {
            if (!_nodeById.TryGetValue(id, out int node)) return false;
            _payloads.Clear(node, live: true);
            return true;
        }
    }

    /// <summary>Live points passing <paramref name="filter"/> (all live points for null), counted exactly by a scan (of every
    /// node, or of a selective keyword match's or has-id's candidates).</summary>
    public int CountMatching(SearchFilter? filter)
    {
        CompiledFilter? compiled = CompileFilter(filter);
        if (compiled is null) return Count;
        if (compiled.MatchesNothing) return 0;
        int count = 0;
        if (CandidateNodes(compiled) is { } candidates)
        {
            foreach (int node in candidates)
                if (_storage.States[node] == NodeState.Live && compiled.Matches(node)) count++;
            return count;
        }
        int nodes = NodeCount;
        for (int node = 0; node < nodes; node++)
            if (_storage.States[node] == NodeState.Live && compiled.Matches(node)) count++;
        return count;
    }

    /// <summary>
    /// A page of the live ids passing <paramref name="filter"/>, in ascending id order, after <paramref name="afterId"/>
    /// (null: from the start). The cursor is the id itself, so it stays valid across writes: a page never repeats an id
    /// of an earlier page, and points inserted meanwhile appear if their ids are beyond the cursor.
    /// </summary>
    /// <remarks>Each page tests every node (no index by id order is kept), O(N log limit) a page, or only a selective
    /// keyword match's or has-id's candidates.</remarks>
    /// <exception cref="ArgumentException">limit outside 1..<see cref="MaxScrollLimit"/>; a bad filter.</exception>
    public ScrollPage Scroll(SearchFilter? filter, long? afterId, int limit)
    {
        if (limit <= 0 || limit > MaxScrollLimit)
            throw new ArgumentException($"limit must be between 1 and MaxScrollLimit ({MaxScrollLimit}), got {limit}", nameof(limit));
        CompiledFilter? compiled = CompileFilter(filter);
        if (compiled is { MatchesNothing: true }) return new ScrollPage([], null);

        // The limit + 1 smallest ids beyond the cursor, in a max-heap: one more than the page tells whether another follows.
        var smallest = new PriorityQueue<long, long>(limit + 1, Comparer<long>.Create(static (a, b) => b.CompareTo(a)));
        int[]? candidates = compiled is null ? null : CandidateNodes(compiled);
        int count = candidates?.Length ?? NodeCount;
        for (int i = 0; i < count; i++)
        {
            int node = candidates is null ? i : candidates[i];
            if (_storage.States[node] != NodeState.Live) continue;
            long id = _storage.Ids[node];
            if (afterId is { } after && id <= after) continue;
            if (smallest.Count > limit && id >= smallest.Peek()) continue;
            if (compiled is not null && !compiled.Matches(node)) continue;
            smallest.Enqueue(id, id);
            if (smallest.Count > limit + 1) smallest.Dequeue();
        }
        bool more = smallest.Count > limit;
        if (more) smallest.Dequeue();
        var ids = new long[smallest.Count];
        for (int i = ids.Length - 1; i >= 0; i--) ids[i] = smallest.Dequeue();
        return new ScrollPage(ids, more ? ids[^1] : null);
    }

    /// <summary>
    /// The nodes a count or scroll needs to test, each once, in node order: the filter's candidate lists
    /// (<see cref="CompiledFilter.Candidates"/>) when they are under a quarter of the nodes; null to test every node.
    /// </summary>
    private int[]? CandidateNodes(CompiledFilter filter)
    {
        if (filter.Candidates is not { } lists || filter.CandidateCount * 4 > NodeCount) return null;
        var nodes = new int[filter.CandidateCount];
        int filled = 0;
        foreach (CandidateList list in lists)
        {
            list.Span.CopyTo(nodes.AsSpan(filled));
            filled += list.Count;
        }
        Array.Sort(nodes);
        int unique = 0;
        for (int i = 0; i < nodes.Length; i++)
            if (unique == 0 || nodes[i] != nodes[unique - 1]) nodes[unique++] = nodes[i];
        return nodes[..unique];
    }
}
