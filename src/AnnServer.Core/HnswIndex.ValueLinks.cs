using AnnServer.Core.Filtering;
using AnnServer.Core.Hnsw;
using AnnServer.Core.Payloads;

namespace AnnServer.Core;

public sealed unsafe partial class HnswIndex
{
    /// <summary>For measurements: whether walks follow the value links built.</summary>
    internal bool FollowsValueLinks
    {
        get => _graph.FollowsValueLinks;
        set => _graph.FollowsValueLinks = value;
    }

    internal long ValueLinksMemoryBytes => _graph.ValueLinks?.MemoryBytes ?? 0;

    /// <summary>
    /// Links each live point with a value of the keyword <paramref name="field"/> to the M nearest points of the same
    /// value (found by a filtered search), and back where there is room (2·M a point): <see cref="ValueLinks"/>, which
    /// a two-hop walk filtered on that field follows when its descent ends among failing points. Replaces any built
    /// before; points written later have none until the next build.
    /// </summary>
    /// <remarks>Experimental (issue 18): built on request only, not persisted, not maintained under writes.</remarks>
    internal void BuildValueLinks(string field, int threads)
    {
        KeywordColumn column;
        int nodes;
        lock (_mapLock)
        {
            column = _payloads.Column(field) as KeywordColumn ?? throw new ArgumentException($"'{field}' is not a keyword field", nameof(field));
            nodes = NodeCount;
        }
        int m = M;
        var nearest = new int[nodes][];
        var filters = new Dictionary<int, SearchFilter>();
        Parallel.For(0, nodes, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, threads) }, () => (new float[Dimension], new SearchHit[m + 1]), (node, _, buffers) =>
        {
            var (vector, hits) = buffers;
            if (_storage.States[node] != NodeState.Live || !column.IsPresent(node)) return buffers;
            int code = column.Codes[node];
            SearchFilter filter;
            lock (filters)
                if (!filters.TryGetValue(code, out filter!))
                    filters[code] = filter = SearchFilter.Of(Filter.All(new KeywordMatch(field, column.Dictionary[code])));
            new ReadOnlySpan<float>(_storage.Vector(node), Dimension).CopyTo(vector);
            int found = SearchUnchecked(vector, m + 1, 2 * m, hits, filter);
            var links = new List<int>(m);
            lock (_mapLock)
                for (int i = 0; i < found && links.Count < m; i++)
                    if (_nodeById.TryGetValue(hits[i].Id, out int other) && other != node) links.Add(other);
            nearest[node] = [.. links];
            return buffers;
        }, _ => { });

        var valueLinks = new ValueLinks(field, nodes, 2 * m);
        for (int node = 0; node < nodes; node++)
            foreach (int other in nearest[node] ?? []) valueLinks.TryAdd(node, other);
        for (int node = 0; node < nodes; node++)
            foreach (int other in nearest[node] ?? []) valueLinks.TryAdd(other, node);
        _graph.ValueLinks = valueLinks;
    }
}
