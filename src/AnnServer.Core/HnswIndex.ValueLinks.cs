using AnnServer.Core.Filtering;
using AnnServer.Core.Hnsw;
using AnnServer.Core.Payloads;

namespace AnnServer.Core;

/// <summary>
/// Linked keyword fields (Qdrant's payload index links): each point with a value of such a field is linked to the M
/// nearest points of the same value, and back where there is room (2·M a point, <see cref="ValueLinks"/>). A two-hop
/// walk filtered on that field whose descent ends among failing points follows them, which keeps the recall of a filter
/// that disagrees with the vectors (HnswGraphOfT.SearchLevel0TwoHop).
/// </summary>
/// <remarks>
/// Kept up to date by every write: an inserted point is linked to its value's nearest by one filtered search (k = M + 1,
/// ef = 2·M) after it is committed; a payload update that changes the value relinks the point. Deletes and overwrites
/// leave links to tombstones, which walks test (live, passing) before they follow them; a rebuild (compaction) drops them.
/// </remarks>
public sealed unsafe partial class HnswIndex
{
    /// <summary>Keyword fields an index may link: each costs (1 + 2·M)·4 bytes a node and a filtered search an insert.</summary>
    public const int MaxLinkedFields = 4;

    /// <summary>For measurements: whether walks follow the value links.</summary>
    internal bool FollowsValueLinks
    {
        get => _graph.FollowsValueLinks;
        set => _graph.FollowsValueLinks = value;
    }

    /// <summary>The keyword fields whose values' points are linked among themselves, in the order they were linked.</summary>
    public IReadOnlyList<string> LinkedFields
    {
        get
        {
            ValueLinks[] tables = _graph.ValueLinks;
            var fields = new string[tables.Length];
            for (int i = 0; i < tables.Length; i++) fields[i] = tables[i].Field;
            return fields;
        }
    }

    internal long ValueLinksMemoryBytes
    {
        get
        {
            long bytes = 0;
            foreach (ValueLinks links in _graph.ValueLinks) bytes += links.MemoryBytes;
            return bytes;
        }
    }

    internal ValueLinks[] ValueLinkTables => _graph.ValueLinks;

    /// <summary>Live points with at least one link in <paramref name="field"/>'s table (0 when it is not linked): for
    /// diagnostics and tests, a pass over the nodes.</summary>
    public int LinkedPointCount(string field)
    {
        foreach (ValueLinks links in _graph.ValueLinks)
        {
            if (links.Field != field) continue;
            int linked = 0;
            int nodes = NodeCount;
            for (int node = 0; node < nodes; node++)
                if (_storage.States[node] == NodeState.Live && links.Links(node).Length > 0) linked++;
            return linked;
        }
        return 0;
    }

    /// <summary>
    /// Throws an <see cref="ArgumentException"/> naming the field when <see cref="LinkValues"/> would refuse it: an empty
    /// or too long name, a field holding values of another kind than keyword, one linked field too many. Changes nothing.
    /// </summary>
    public void ValidateLinkedField(string field)
    {
        ArgumentNullException.ThrowIfNull(field);
        lock (_mapLock) ValidateLinkedFieldLocked(field);
    }

    private void ValidateLinkedFieldLocked(string field)
    {
        if (field.Length == 0)
            throw new ArgumentException("a linked field needs a name", nameof(field));
        if (field.Length > PayloadLimits.MaxFieldNameLength)
            throw new ArgumentException($"linked field '{field[..32]}…' has {field.Length} characters, more than the limit MaxFieldNameLength ({PayloadLimits.MaxFieldNameLength})", nameof(field));
        if (IsLinked(field)) return;
        if (_payloads.Column(field) is { } column && column.Kind != PayloadKind.Keyword)
            throw new ArgumentException($"field '{field}' holds {column.Kind} values; only a keyword field can be linked", nameof(field));
        if (_payloads.Column(field) is null && _payloads.Columns.Count >= PayloadLimits.MaxFieldsPerIndex)
            throw new ArgumentException($"linked field '{field}' would be field {_payloads.Columns.Count + 1} of the index, more than the limit MaxFieldsPerIndex ({PayloadLimits.MaxFieldsPerIndex})", nameof(field));
        if (_graph.ValueLinks.Length >= MaxLinkedFields)
            throw new ArgumentException($"field '{field}' would be linked field {_graph.ValueLinks.Length + 1}, more than the limit MaxLinkedFields ({MaxLinkedFields})", nameof(field));
    }

    private bool IsLinked(string field)
    {
        foreach (ValueLinks links in _graph.ValueLinks)
            if (links.Field == field) return true;
        return false;
    }

    /// <summary>
    /// Makes <paramref name="field"/> a linked keyword field (reserving it as keyword when no point has it yet) and links
    /// the points already there over <paramref name="threads"/> threads (0 = all cores); returns once they are, about one
    /// filtered search a point. Writes made meanwhile link their own points. A field already linked is left as it is.
    /// </summary>
    /// <exception cref="ArgumentException">as <see cref="ValidateLinkedField"/>.</exception>
    public void LinkValues(string field, int threads = 0)
    {
        ArgumentNullException.ThrowIfNull(field);
        ValueLinks links;
        KeywordColumn column;
        int nodes;
        lock (_mapLock)
        {
            ValidateLinkedFieldLocked(field);
            if (IsLinked(field)) return;
            if (_payloads.Column(field) is null) _payloads.AddColumn(field, PayloadKind.Keyword);
            column = (KeywordColumn)_payloads.Column(field)!;
            // Published before the nodes are counted: a point committed from here on links itself (Insert), one counted
            // here is linked below; a point in both is linked twice, which adds nothing the first did not.
            links = new ValueLinks(field, 2 * M, NodeCount);
            _graph.ValueLinks = [.. _graph.ValueLinks, links];
            nodes = NodeCount;
        }
        LinkExistingNodes(links, column, nodes, threads);
        links.IsComplete = true;
    }

    /// <summary>Installs links read from a snapshot, complete, for a field of the index's payload.</summary>
    internal void AdoptValueLinks(ValueLinks links)
    {
        lock (_mapLock)
        {
            if (_payloads.Column(links.Field) is null) _payloads.AddColumn(links.Field, PayloadKind.Keyword);
            links.EnsureCapacity(NodeCount);
            links.IsComplete = true;
            _graph.ValueLinks = [.. _graph.ValueLinks, links];
        }
    }

    /// <summary>
    /// Links the live nodes below <paramref name="nodes"/> that have a value: first each to its M nearest of its value
    /// (all found before any is added, so a row holds its own nearest first), then each of those back where there is room.
    /// </summary>
    private void LinkExistingNodes(ValueLinks links, KeywordColumn column, int nodes, int threads)
    {
        int m = M;
        var nearest = new int[nodes][];
        var filters = new Dictionary<int, CompiledFilter?>();
        Parallel.For(0, nodes, new ParallelOptions { MaxDegreeOfParallelism = threads > 0 ? threads : Environment.ProcessorCount },
            () => (_contexts.Rent(), new int[m]), (node, _, state) =>
            {
                var (context, found) = state;
                if (_storage.States[node] != NodeState.Live || !column.IsPresent(node)) return state;
                int code = column.Codes[node];
                CompiledFilter? filter;
                lock (filters)
                    if (!filters.TryGetValue(code, out filter))
                        filters[code] = filter = CompileValueFilter(column, code);
                if (filter is null) return state;
                int count = NearestOfValue(node, filter, found, context);
                nearest[node] = found[..count];
                return state;
            }, state => _contexts.Return(state.Item1));

        for (int node = 0; node < nodes; node++)
            foreach (int other in nearest[node] ?? []) links.TryAdd(node, other);
        for (int node = 0; node < nodes; node++)
            foreach (int other in nearest[node] ?? []) links.TryAdd(other, node);
    }

    /// <summary>After a committed insert: links the new node in every linked field it has a value of.</summary>
    private void LinkInsertedNode(int node, SearchContext context)
    {
        foreach (ValueLinks links in _graph.ValueLinks) LinkNode(links, node, context);
    }

    /// <summary>After a payload update of the linked fields among <paramref name="fields"/>: relinks the node to its new value's points.</summary>
    private void RelinkUpdatedNode(long id, Payload fields)
    {
        ValueLinks[] tables = _graph.ValueLinks;
        if (tables.Length == 0) return;
        int node;
        lock (_mapLock)
            if (!_nodeById.TryGetValue(id, out node)) return;
        var context = _contexts.Rent();
        try
        {
            foreach (ValueLinks links in tables)
            {
                if (!fields.TryGetValue(links.Field, out _)) continue;
                links.Clear(node);
                LinkNode(links, node, context);
            }
        }
        finally
        {
            _contexts.Return(context);
        }
    }

    /// <summary>Links a node to the M nearest points of its value of <paramref name="links"/>' field, and them back where there is room.</summary>
    private void LinkNode(ValueLinks links, int node, SearchContext context)
    {
        CompiledFilter? filter;
        lock (_mapLock)
        {
            if (_payloads.Column(links.Field) is not KeywordColumn column || !column.IsPresent(node)) return;
            filter = CompileValueFilterLocked(column, column.Codes[node]);
        }
        if (filter is null) return;
        Span<int> nearest = stackalloc int[M];
        int count = NearestOfValue(node, filter, nearest, context);
        links.EnsureCapacity(node + 1);
        for (int i = 0; i < count; i++) links.TryAdd(node, nearest[i]);
        for (int i = 0; i < count; i++) links.TryAdd(nearest[i], node);
    }

    private CompiledFilter? CompileValueFilter(KeywordColumn column, int code)
    {
        lock (_mapLock) return CompileValueFilterLocked(column, code);
    }

    private CompiledFilter? CompileValueFilterLocked(KeywordColumn column, int code)
    {
        var filter = SearchFilter.Of(Filter.All(new KeywordMatch(column.Name, column.Dictionary[code])));
        CompiledFilter compiled = FilterCompiler.Compile(filter, _storage, _payloads, _liveCountByLabel, _liveCount, _nodeById, _nodesByLabel, UsesRangeIndexes);
        return compiled.MatchesNothing ? null : compiled;
    }

    /// <summary>
    /// The nearest live nodes passing <paramref name="filter"/> to <paramref name="node"/>'s vector, nearest first, the node
    /// itself left out: up to <c>nearest.Length</c>, by the search a query takes (k = M + 1, ef = 2·M) as planned.
    /// </summary>
    private int NearestOfValue(int node, CompiledFilter filter, Span<int> nearest, SearchContext context)
    {
        int k = nearest.Length + 1;
        int ef = Math.Max(k, 2 * M);
        float* query = context.Query;
        new ReadOnlySpan<float>(_storage.Vector(node), Dimension).CopyTo(new Span<float>(query, Dimension));
        FilteredSearchPlan plan = Plan(filter, ef);
        if (plan.Strategy == FilteredSearchStrategy.ExactScan)
            ScanExact(context, query, k, filter);
        else
        {
            _graph.Search(context, query, plan.WalkEf, filter, twoHop: plan.Strategy == FilteredSearchStrategy.TwoHopWalk);
            if (context.Results.Count < k) ScanExact(context, query, k, filter);
        }

        // The heap holds the farthest on top: drain it whole, then keep the nearest, nearest first.
        DistanceHeap heap = context.Results;
        Span<int> drained = heap.Count <= 256 ? stackalloc int[heap.Count] : new int[heap.Count];
        for (int i = drained.Length - 1; i >= 0; i--)
        {
            drained[i] = heap.TopNode;
            heap.Pop();
        }
        int count = 0;
        foreach (int other in drained)
        {
            if (count == nearest.Length) break;
            if (other != node) nearest[count++] = other;
        }
        return count;
    }
}
