using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;
using AnnServer.Core.Distance;
using AnnServer.Core.Filtering;
using AnnServer.Core.Storage;

namespace AnnServer.Core.Hnsw;

/// <summary>
/// HNSW (Malkov and Yashunin, 2018) for one distance: insertion (algorithm 1), layer search (algorithm 2) and the
/// neighbour-selection heuristic (algorithm 4), following hnswlib's hnswalg.h step for step so the graph is as good.
/// </summary>
internal sealed unsafe partial class HnswGraph<TDistance>(GraphStorage storage) : HnswGraph(storage)
    where TDistance : struct, IDistanceFunction
{
    private readonly object _entryPointLock = new();
    private readonly int _dimension = storage.Dimension;

    // Under inner product a point need not be the best match even for its own vector (a longer one in the same
    // direction beats it), and the heuristic leaves many short vectors without in-links by design: keeping them linked
    // crowds out the links searches use (recall@10 at ef 100 fell from 0.95 to 0.82 in RecallTests).
    private readonly bool _keepsLastInLinks = storage.Metric != DistanceMetric.InnerProduct;

    public override float Distance(float* a, float* b) => TDistance.Compute(a, b, _dimension);

    public override void Insert(int node, SearchContext context)
    {
        GraphStorage storage = Storage;
        storage.EnsureInLinksCounted();
        float* vector = storage.Vector(node);
        int level = storage.LevelOf(node);

        if (!storage.TryGetEntryPoint(out int entryPoint, out int topLevel))
        {
            lock (_entryPointLock)
            {
                if (!storage.TryGetEntryPoint(out entryPoint, out topLevel))
                {
                    storage.SetEntryPoint(node, level);
                    return;
                }
            }
        }

        var distanceToNew = new FloatQuery<TDistance>(storage, vector);
        int current = GreedyDescend(context, distanceToNew, entryPoint, topLevel, level);
        for (int layer = Math.Min(level, topLevel); layer >= 0; layer--)
        {
            if (layer == 0)
                SearchLevel0(context, distanceToNew, current, storage.EfConstruction, new NotDeletedNodes(storage), excludedNode: node);
            else
                SearchUpperLevel(context, vector, current, layer, storage.EfConstruction, excludedNode: node);
            // Every node the search reached is deleted (say, every point was deleted before this insert): link to the
            // tombstone it stands on rather than to nothing, or the new node would be unreachable. Tombstones route.
            if (context.Results.Count == 0) context.Results.Push(distanceToNew.Distance(current), current);
            current = ConnectNewNode(context, node, layer);
        }

        if (level > topLevel)
        {
            lock (_entryPointLock)
            {
                storage.TryGetEntryPoint(out _, out topLevel);
                if (level > topLevel) storage.SetEntryPoint(node, level);
            }
        }
    }

    public override void Search(SearchContext context, float* query, int ef, CompiledFilter? filter, bool twoHop, int rerankPool)
    {
        GraphStorage storage = Storage;
        context.DistanceComputations = 0;
        context.Results.Clear();
        if (!storage.TryGetEntryPoint(out int entryPoint, out int topLevel)) return;
        if (storage.Quantization == VectorQuantization.Int8)
        {
            byte* queryRow = context.QueryCodes(storage.Dimension);
            Int8Codes.EncodeQuery(query, storage.Dimension, queryRow);
            if (storage.Metric == DistanceMetric.L2)
                Search(context, new Int8L2Query(storage, queryRow), entryPoint, topLevel, ef, filter, twoHop);
            else
                Search(context, new Int8InnerProductQuery(storage, queryRow), entryPoint, topLevel, ef, filter, twoHop);
            if (rerankPool != RerankPool.None) Rerank(context, query, rerankPool);
        }
        else if (storage.Quantization == VectorQuantization.Int4)
        {
            byte* queryBuffer = context.QueryCodes(storage.Dimension);
            Int4Codes.EncodeQuery(query, storage.Dimension, queryBuffer);
            if (storage.Metric == DistanceMetric.L2)
                Search(context, new Int4L2Query(storage, queryBuffer), entryPoint, topLevel, ef, filter, twoHop);
            else
                Search(context, new Int4InnerProductQuery(storage, queryBuffer), entryPoint, topLevel, ef, filter, twoHop);
            if (rerankPool != RerankPool.None) Rerank(context, query, rerankPool);
        }
        else
        {
            Search(context, new FloatQuery<TDistance>(storage, query), entryPoint, topLevel, ef, filter, twoHop);
        }
    }

    private void Search<TQuery>(SearchContext context, TQuery query, int entryPoint, int topLevel, int ef, CompiledFilter? filter, bool twoHop)
        where TQuery : struct, IQueryDistance
    {
        int entry = GreedyDescend(context, query, entryPoint, topLevel, 0);
        if (filter is null)
            SearchLevel0(context, query, entry, ef, new LiveNodes(Storage), excludedNode: -1);
        else if (twoHop)
            SearchLevel0TwoHopFrom(context, query, entry, ef, filter);
        else
            SearchLevel0(context, query, entry, ef, new LiveNodesPassingFilter(Storage, filter), excludedNode: -1);
    }

    /// <summary>Candidates of the filter whose distances are computed to find the seeds of a walk along value links.</summary>
    private const int SeedSample = 64;

    /// <summary>The nearest of the sample that such a walk starts from.</summary>
    private const int SeedCount = 4;

    /// <summary>
    /// The two-hop walk from the greedy descent's end; or, when that end lies among failing nodes and the filter requires
    /// a keyword value whose points are linked among themselves (<see cref="ValueLinks"/>), a two-hop walk that also
    /// follows those links, from the nearest of a sample of the value's points.
    /// </summary>
    private void SearchLevel0TwoHopFrom<TQuery>(SearchContext context, TQuery query, int entry, int ef, CompiledFilter filter)
        where TQuery : struct, IQueryDistance
    {
        var passing = new LiveNodesPassingFilter(Storage, filter);
        Span<int> entries = stackalloc int[SeedCount];
        Span<float> distances = stackalloc float[SeedCount];
        ValueLinks? valueLinks = FollowedLinksOf(filter.CandidatesKeywordField);
        int seeds = valueLinks is not null && filter.Candidates is { } candidates && EntryIsAmongFailingNodes(entry, passing, filter)
            ? SeedsFromCandidates(context, query, filter, candidates, passing, entries, distances)
            : 0;
        if (seeds == 0)
        {
            entries[0] = entry;
            distances[0] = query.Distance(entry);
            seeds = 1;
            valueLinks = null;
        }
        if (valueLinks is null)
            SearchLevel0TwoHop(context, query, entries[..seeds], distances[..seeds], ef, passing, new NoValueLinks());
        else
            SearchLevel0TwoHop(context, query, entries[..seeds], distances[..seeds], ef, passing, new FollowedValueLinks(valueLinks));
    }

    /// <summary>
    /// Whether the greedy descent ended among nodes the filter rejects: the entry fails, and fewer of its neighbours pass
    /// than half the share the filter lets through overall. There the filter disagrees with the vectors (another class
    /// than the query's own): the passing nodes nearest the query lie beyond thousands that fail, and a two-hop walk
    /// from there finds none within reach, or a few stragglers it cannot get away from.
    /// </summary>
    /// <remarks>
    /// A filter independent of the vectors (10 % at random) passes about s·2·M of the 2·M neighbours, so the test
    /// rarely fires there (one query in seven at 10 %), and there it costs the sample's distances, no recall: the walk
    /// then follows the value's links as well as the graph's.
    /// </remarks>
    private bool EntryIsAmongFailingNodes(int entry, LiveNodesPassingFilter passing, CompiledFilter filter)
    {
        if (passing.Accepts(entry)) return false;
        GraphStorage storage = Storage;
        int* links = storage.Links0(entry);
        int count = Math.Min(Volatile.Read(ref links[0]), storage.MaxLinks0);
        int accepted = 0;
        for (int i = 1; i <= count; i++)
            if (passing.Accepts(links[i])) accepted++;
        double share = filter.EstimatedMatches / Math.Max(1, storage.NodeCount);
        return 2.0 * accepted < share * count;
    }

    /// <summary>
    /// Computes the distances of <see cref="SeedSample"/> evenly spaced nodes of the filter's candidate lists (those that
    /// pass) and writes the nearest <see cref="SeedCount"/>, nearest first, to <paramref name="entries"/>; returns how
    /// many. Their order in the lists (postings in insertion order, or a range's slice in value order) is unrelated
    /// to where they lie, so the nearest of a sample lies among the passing points on the query's side of their
    /// region, from which the walk over passing nodes descends to the query's nearest.
    /// </summary>
    private int SeedsFromCandidates<TQuery>(SearchContext context, TQuery query, CompiledFilter filter, CandidateList[] candidates,
        LiveNodesPassingFilter passing, Span<int> entries, Span<float> distances)
        where TQuery : struct, IQueryDistance
    {
        long total = filter.CandidateCount;
        if (total == 0) return 0;
        int* sample = stackalloc int[SeedSample];
        int sampled = 0;
        double step = Math.Max(1.0, total / (double)SeedSample);
        int list = 0;
        long listStart = 0;
        for (double position = step / 2; position < total && sampled < SeedSample; position += step)
        {
            long at = (long)position;
            while (at >= listStart + candidates[list].Count)
            {
                listStart += candidates[list].Count;
                list++;
            }
            CandidateList run = candidates[list];
            int node = run.Nodes[run.Start + (int)(at - listStart)];
            if (!passing.Accepts(node)) continue;
            sample[sampled++] = node;
            query.Prefetch(node);
        }

        int seeds = 0;
        for (int i = 0; i < sampled; i++) KeepNearestSeed(entries, distances, ref seeds, sample[i], query.Distance(sample[i]));
        context.DistanceComputations += sampled;
        return seeds;
    }

    /// <summary>Adds a node to the nearest-first seeds when it is among the nearest so far (insertion into a short array).</summary>
    private static void KeepNearestSeed(Span<int> entries, Span<float> distances, ref int seeds, int node, float distance)
    {
        if (entries.Length == 0 || (seeds == entries.Length && distance >= distances[seeds - 1])) return;
        int slot = seeds < entries.Length ? seeds++ : seeds - 1;
        while (slot > 0 && distances[slot - 1] > distance)
        {
            entries[slot] = entries[slot - 1];
            distances[slot] = distances[slot - 1];
            slot--;
        }
        entries[slot] = node;
        distances[slot] = distance;
    }


    /// <summary>
    /// A filtered level-0 search in the manner of ACORN-1 (Patel et al., SIGMOD 2024): distances are computed for passing
    /// nodes only, and a node's neighbourhood is its passing neighbours, then the passing neighbours of its failing ones
    /// (two hops), up to 2·M nodes. Where few points pass, the plain walk computes a distance for every neighbour, passing
    /// or not, to reach the passing ones; this one steps over the failing ones for the price of a filter test.
    /// </summary>
    /// <remarks>
    /// Unlike ACORN, the graph is the ordinary HNSW one (ACORN builds M·γ unpruned links to keep the subgraph of passing
    /// nodes connected at low selectivity); the planner scans exactly below the selectivity where that matters, and a
    /// walk that finds fewer than k falls back to the scan.
    /// <para>
    /// Where the filter disagrees with the vectors (another class than the query's own on Fashion-MNIST) the walk starts
    /// among failing nodes and mostly falls back to the scan (0.05× the unfiltered QPS at recall 0.95): the other
    /// class's points nearest the query are its atypical ones, among the query's class, and the graph's links between
    /// passing nodes do not lead to them. Started from the nearest of 64 to 256 sampled candidates, from the passing
    /// nodes an unfiltered walk meets, or from the nearest passing nodes of level 1, it was fast but stayed at recall
    /// 0.92 to 0.94 for any ef up to 48 (commits 75f227f, 534bd3f); leaving such walks to the scan at once lost on random
    /// 10 % (0.36× against 0.69×: a scan of 6,000 784-d points costs about 25 plain searches). What keeps the recall is
    /// links among each keyword value's own points (<see cref="ValueLinks"/>, Qdrant's payload index links): with them
    /// the seeded walk reached recall 0.96 at ef 10, 0.70× the unfiltered QPS, against 0.07× without (300 queries).
    /// </para>
    /// </remarks>
    private void SearchLevel0TwoHop<TQuery, TFilter, TLinks>(SearchContext context, TQuery query, ReadOnlySpan<int> entries,
        ReadOnlySpan<float> entryDistances, int ef, TFilter filter, TLinks valueLinks)
        where TQuery : struct, IQueryDistance
        where TFilter : struct, INodeFilter
        where TLinks : struct, IValueLinks
    {
        GraphStorage storage = Storage;
        context.ResetVisited(storage.NodeCount);
        ushort[] visited = context.Visited;
        ushort generation = context.Generation;
        DistanceHeap candidates = context.Candidates;
        DistanceHeap results = context.Results;
        candidates.Clear();
        results.Clear();

        int computations = 1;
        float lowerBound = float.MaxValue;
        for (int e = 0; e < entries.Length; e++)
        {
            int entry = entries[e];
            visited[entry] = generation;
            if (filter.Accepts(entry))
            {
                results.Push(entryDistances[e], entry);
                lowerBound = results.TopDistance;
            }
            candidates.Push(-entryDistances[e], entry);
        }
        int graphCap = storage.MaxLinks0;
        int cap = graphCap + valueLinks.MaxLinks;
        int* fresh = stackalloc int[cap];

        while (candidates.Count > 0)
        {
            float candidateDistance = -candidates.TopDistance;
            if (candidateDistance > lowerBound && results.Count == ef) break;
            int current = candidates.TopNode;
            candidates.Pop();

            int* links = storage.Links0(current);
            int count = Math.Min(Volatile.Read(ref links[0]), storage.MaxLinks0);
            int found = 0;
            // The graph's own links first; passing nodes are marked as they are taken, failing ones when expanded.
            for (int i = 1; i <= count && found < graphCap; i++)
            {
                int neighbor = links[i];
                if ((uint)neighbor >= (uint)visited.Length || visited[neighbor] == generation) continue;
                if (!filter.Accepts(neighbor))
                {
                    // Its list is read next, when its own neighbours are looked through.
                    if (Sse.IsSupported) Sse.Prefetch0(storage.Links0(neighbor));
                    continue;
                }
                visited[neighbor] = generation;
                fresh[found++] = neighbor;
                query.Prefetch(neighbor);
            }
            for (int i = 1; i <= count && found < graphCap; i++)
            {
                int failing = links[i];
                if ((uint)failing >= (uint)visited.Length || visited[failing] == generation) continue;
                int* second = storage.Links0(failing);
                int secondCount = Math.Min(Volatile.Read(ref second[0]), storage.MaxLinks0);
                int j = 1;
                for (; j <= secondCount && found < graphCap; j++)
                {
                    int neighbor = second[j];
                    if ((uint)neighbor >= (uint)visited.Length || visited[neighbor] == generation) continue;
                    if (!filter.Accepts(neighbor)) continue;
                    visited[neighbor] = generation;
                    fresh[found++] = neighbor;
                    query.Prefetch(neighbor);
                }
                // A failing node is done with once its whole list was looked through; one cut short by the cap is looked
                // through again from the next node that links to it (its passing neighbours taken now are skipped then).
                if (j > secondCount) visited[failing] = generation;
            }

            // The value's own links last: the points of the value the graph's links do not reach.
            foreach (int neighbor in valueLinks.Of(current))
            {
                if (found == cap) break;
                if ((uint)neighbor >= (uint)visited.Length || visited[neighbor] == generation || !filter.Accepts(neighbor)) continue;
                visited[neighbor] = generation;
                fresh[found++] = neighbor;
                query.Prefetch(neighbor);
            }

            for (int i = 0; i < found; i++)
            {
                int neighbor = fresh[i];
                float distance = query.Distance(neighbor);
                if (results.Count < ef || distance < lowerBound)
                {
                    candidates.Push(-distance, neighbor);
                    if (results.Count < ef) results.Push(distance, neighbor);
                    else results.ReplaceTop(distance, neighbor);
                    lowerBound = results.TopDistance;
                }
            }
            computations += found;
        }
        context.DistanceComputations += computations;
    }

    /// <summary>
    /// Replaces the results by the nearest <paramref name="pool"/> of them by their codes, with exact float32 distances
    /// (<see cref="RerankPool"/>: the rest are dropped without reading their vectors).
    /// </summary>
    private void Rerank(SearchContext context, float* query, int pool)
    {
        int found = DrainResultsAscending(context);
        int count = Math.Min(found, pool);
        var ordered = context.Ordered;
        // Results tied by their codes with the pool's last (copies of one vector) all stay: which of them the pool cut
        // would depend on the heap's order, where re-ranked they are ordered by id as every result is.
        while (count > 0 && count < found && ordered[count].Distance.Equals(ordered[count - 1].Distance)) count++;
        DistanceHeap results = context.Results;
        // The float32 vectors of the results have not been read during the search: ask for them all before the first
        // distance, as the search loop does for neighbours, so their misses overlap instead of queueing one by one.
        if (Sse.IsSupported)
        {
            for (int i = 0; i < count; i++) Sse.Prefetch0(Storage.Vector(ordered[i].Node));
        }
        for (int i = 0; i < count; i++)
        {
            int node = ordered[i].Node;
            results.Push(TDistance.Compute(query, Storage.Vector(node), _dimension), node);
        }
        context.DistanceComputations += count;
    }

    public override void ScanExact(SearchContext context, float* query, int k, CompiledFilter? filter, int from, int to)
    {
        GraphStorage storage = Storage;
        DistanceHeap results = context.Results;
        results.Clear();
        int* batch = stackalloc int[ScanBatch];
        int batched = 0;
        if (filter is null)
        {
            for (int node = from; node < to; node++)
            {
                if (storage.States[node] != NodeState.Live) continue;
                batch[batched++] = node;
                if (batched == ScanBatch)
                {
                    KeepNearest(query, k, batch, batched, results);
                    batched = 0;
                }
            }
        }
        else
        {
            int* passing = stackalloc int[ScanBatch];
            for (int node = from; node < to;)
            {
                int found = filter.Collect(node, to, new Span<int>(passing, ScanBatch), out node);
                for (int i = 0; i < found; i++)
                {
                    if (storage.States[passing[i]] != NodeState.Live) continue;
                    batch[batched++] = passing[i];
                }
                if (batched > 0)
                {
                    KeepNearest(query, k, batch, batched, results);
                    batched = 0;
                }
            }
        }
        KeepNearest(query, k, batch, batched, results);
        context.DistanceComputations = to - from;
    }

    public override void ScanCandidates(SearchContext context, float* query, int k, CompiledFilter filter, CandidateList[] candidates)
    {
        GraphStorage storage = Storage;
        DistanceHeap results = context.Results;
        results.Clear();
        context.ResetVisited(storage.NodeCount);
        ushort[] visited = context.Visited;
        ushort generation = context.Generation;
        int computations = 0;
        int* batch = stackalloc int[ScanBatch];
        int batched = 0;
        foreach (CandidateList list in candidates)
        {
            int[] nodes = list.Nodes;
            for (int i = list.Start, end = list.Start + list.Count; i < end; i++)
            {
                int node = nodes[i];
                if ((uint)node >= (uint)visited.Length || visited[node] == generation) continue;
                visited[node] = generation;
                if (storage.States[node] != NodeState.Live || !filter.Matches(node)) continue;
                batch[batched++] = node;
                computations++;
                if (batched == ScanBatch)
                {
                    KeepNearest(query, k, batch, batched, results);
                    batched = 0;
                }
            }
        }
        KeepNearest(query, k, batch, batched, results);
        context.DistanceComputations = computations;
    }

    /// <summary>Passing nodes a scan gathers before computing their distances (see <see cref="KeepNearest"/>).</summary>
    private const int ScanBatch = 16;

    /// <summary>
    /// Computes the distances of a batch of a scan's passing nodes into the top-k heap. Their vectors are asked for all
    /// before the first distance, as the walk does for a node's neighbours: the passing nodes of a selective filter lie
    /// far apart in memory, and one by one each miss would wait for the one before.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void KeepNearest(float* query, int k, int* batch, int count, DistanceHeap results)
    {
        GraphStorage storage = Storage;
        if (Sse.IsSupported)
        {
            for (int i = 0; i < count; i++) Sse.Prefetch0(storage.Vector(batch[i]));
        }
        for (int i = 0; i < count; i++)
        {
            int node = batch[i];
            float distance = TDistance.Compute(query, storage.Vector(node), _dimension);
            if (results.Count < k) results.Push(distance, node);
            else if (distance < results.TopDistance)
            {
                results.Pop();
                results.Push(distance, node);
            }
        }
    }

    /// <summary>Greedy search with ef = 1 from <paramref name="topLevel"/> down to just above <paramref name="targetLevel"/>.</summary>
    /// <remarks>
    /// Unlike hnswlib, a node whose distance was computed once is not computed again, on this level or a lower one: the
    /// current distance only decreases, so a node that did not beat it then cannot beat it later, and the walk ends where
    /// hnswlib's would. On Fashion-MNIST this saves 24 of the descent's 84 distances per query (of 276 in all, ef 14).
    /// Each neighbour list is prefetched whole before its first distance, as on level 0.
    /// </remarks>
    private int GreedyDescend<TQuery>(SearchContext context, TQuery query, int entry, int topLevel, int targetLevel)
        where TQuery : struct, IQueryDistance
    {
        GraphStorage storage = Storage;
        context.ResetVisited(storage.NodeCount);
        ushort[] visited = context.Visited;
        ushort generation = context.Generation;
        int current = entry;
        float currentDistance = query.Distance(current);
        visited[current] = generation;
        int computations = 1;
        for (int layer = topLevel; layer > targetLevel; layer--)
        {
            bool changed = true;
            while (changed)
            {
                changed = false;
                ReadOnlySpan<int> neighbors = UpperNeighbors(current, layer);
                foreach (int neighbor in neighbors) query.Prefetch(neighbor);
                foreach (int neighbor in neighbors)
                {
                    // A pending node may not be linked below this level yet: descending through it would strand the search.
                    if (storage.States[neighbor] == NodeState.Pending) continue;
                    if ((uint)neighbor >= (uint)visited.Length || visited[neighbor] == generation) continue;
                    visited[neighbor] = generation;
                    float distance = query.Distance(neighbor);
                    computations++;
                    if (distance < currentDistance)
                    {
                        currentDistance = distance;
                        current = neighbor;
                        changed = true;
                    }
                }
            }
        }
        context.DistanceComputations += computations;
        return current;
    }

    /// <summary>
    /// The paper's algorithm 2 on level 0, the hot loop of every query. Candidates are explored nearest first until the
    /// nearest unexplored one is farther than the worst of ef results; nodes the filter rejects still route the search.
    /// </summary>
    private void SearchLevel0<TQuery, TFilter>(SearchContext context, TQuery query, int entry, int ef, TFilter filter, int excludedNode)
        where TQuery : struct, IQueryDistance
        where TFilter : struct, INodeFilter
    {
        GraphStorage storage = Storage;
        context.ResetVisited(storage.NodeCount);
        ushort[] visited = context.Visited;
        ushort generation = context.Generation;
        DistanceHeap candidates = context.Candidates;
        DistanceHeap results = context.Results;
        candidates.Clear();
        results.Clear();
        if (excludedNode >= 0) visited[excludedNode] = generation;

        float entryDistance = query.Distance(entry);
        int computations = 1;
        visited[entry] = generation;
        float lowerBound = float.MaxValue;
        if (filter.Accepts(entry))
        {
            results.Push(entryDistance, entry);
            lowerBound = entryDistance;
        }
        candidates.Push(-entryDistance, entry);
        int* unvisited = stackalloc int[storage.MaxLinks0];

        while (candidates.Count > 0)
        {
            float candidateDistance = -candidates.TopDistance;
            if (candidateDistance > lowerBound && results.Count == ef) break;
            int current = candidates.TopNode;
            candidates.Pop();

            int* links = storage.Links0(current);
            int count = Volatile.Read(ref links[0]);
            Debug.Assert(count <= storage.MaxLinks0);

            // Two passes: first collect the unvisited neighbours and ask for their vectors, then compute. Every fetch then
            // has the whole first pass to arrive, instead of one distance's worth of time when prefetching one ahead
            // (hnswlib's way). It pays most for the short int8 rows, whose prefetch covers the whole row.
            int fresh = 0;
            for (int i = 1; i <= count; i++)
            {
                int neighbor = links[i];
                if ((uint)neighbor >= (uint)visited.Length || visited[neighbor] == generation) continue;
                visited[neighbor] = generation;
                if (!filter.Traverses(neighbor)) continue;
                unvisited[fresh++] = neighbor;
                query.Prefetch(neighbor);
            }

            for (int i = 0; i < fresh; i++)
            {
                int neighbor = unvisited[i];
                float distance = query.Distance(neighbor);
                if (results.Count < ef || distance < lowerBound)
                {
                    candidates.Push(-distance, neighbor);
                    if (Sse.IsSupported) PrefetchLinks0(storage, candidates.TopNode);
                    if (filter.Accepts(neighbor))
                    {
                        if (results.Count < ef) results.Push(distance, neighbor);
                        else results.ReplaceTop(distance, neighbor);
                    }
                    if (results.Count > 0) lowerBound = results.TopDistance;
                }
            }
            computations += fresh;
        }
        context.DistanceComputations += computations;
    }

    /// <summary>
    /// Asks for every cache line of a level-0 link list (count and 2·M ids: 132 bytes at M = 16, over three lines and
    /// sometimes four, rows being packed), not its first line only, which holds the first 15 ids.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PrefetchLinks0(GraphStorage storage, int node)
    {
        byte* row = (byte*)storage.Links0(node);
        byte* end = row + storage.Level0RowBytes - 1;
        for (byte* line = row; line <= end; line += 64) Sse.Prefetch0(line);
        Sse.Prefetch0(end);
    }

    /// <summary>Algorithm 2 on an upper level, for insertion only (queries descend the upper levels greedily).</summary>
    private void SearchUpperLevel(SearchContext context, float* query, int entry, int layer, int ef, int excludedNode)
    {
        GraphStorage storage = Storage;
        var filter = new NotDeletedNodes(storage);
        context.ResetVisited(storage.NodeCount);
        ushort[] visited = context.Visited;
        ushort generation = context.Generation;
        DistanceHeap candidates = context.Candidates;
        DistanceHeap results = context.Results;
        candidates.Clear();
        results.Clear();
        visited[excludedNode] = generation;

        float entryDistance = TDistance.Compute(query, storage.Vector(entry), _dimension);
        visited[entry] = generation;
        float lowerBound = float.MaxValue;
        if (filter.Accepts(entry))
        {
            results.Push(entryDistance, entry);
            lowerBound = entryDistance;
        }
        candidates.Push(-entryDistance, entry);

        while (candidates.Count > 0)
        {
            if (-candidates.TopDistance > lowerBound && results.Count == ef) break;
            int current = candidates.TopNode;
            candidates.Pop();
            foreach (int neighbor in UpperNeighbors(current, layer))
            {
                if ((uint)neighbor >= (uint)visited.Length || visited[neighbor] == generation) continue;
                visited[neighbor] = generation;
                if (!filter.Traverses(neighbor)) continue;
                float distance = TDistance.Compute(query, storage.Vector(neighbor), _dimension);
                if (results.Count < ef || distance < lowerBound)
                {
                    candidates.Push(-distance, neighbor);
                    if (filter.Accepts(neighbor))
                    {
                        if (results.Count < ef) results.Push(distance, neighbor);
                        else results.ReplaceTop(distance, neighbor);
                    }
                    if (results.Count > 0) lowerBound = results.TopDistance;
                }
            }
        }
    }

    /// <summary>
    /// Links the new node to the neighbours the heuristic keeps among <c>context.Results</c>, and each of them back to it,
    /// pruning a full list with the heuristic again. Returns the nearest kept neighbour: the entry for the next level down.
    /// </summary>
    private int ConnectNewNode(SearchContext context, int node, int layer)
    {
        GraphStorage storage = Storage;
        int candidateCount = DrainResultsAscending(context);
        // hnswlib keeps M for the new node's own list on every level; 2·M only bounds level 0 lists as they fill up.
        int selectedCount = SelectNeighborsHeuristic(context, candidateCount, storage.M);
        Span<int> selected = stackalloc int[selectedCount];
        context.Selected.AsSpan(0, selectedCount).CopyTo(selected);

        int maxLinks = layer == 0 ? storage.MaxLinks0 : storage.M;
        SetOwnLinks(context, node, layer, selected, maxLinks);
        foreach (int neighbor in selected) AddLink(context, neighbor, node, layer, maxLinks, mustKeep: -1);
        // Every neighbour pruned the newcomer away (its nearest rarely does): make the nearest keep it if it has room.
        if (layer == 0 && _keepsLastInLinks && Volatile.Read(ref storage.InLinks0[node]) == 0)
            AddLink(context, selected[0], node, layer, maxLinks, mustKeep: node);
        return selected[0];
    }

    /// <summary>Moves the result heap into <c>context.Ordered</c>, nearest first; returns the count.</summary>
    private static int DrainResultsAscending(SearchContext context)
    {
        DistanceHeap results = context.Results;
        int count = results.Count;
        context.EnsureOrdered(count + 1);
        var ordered = context.Ordered;
        for (int i = count - 1; i >= 0; i--)
        {
            ordered[i] = (results.TopDistance, results.TopNode);
            results.Pop();
        }
        return count;
    }

    /// <summary>
    /// The paper's algorithm 4 (hnswlib's getNeighborsByHeuristic2): walk the candidates nearest first and keep one only
    /// if it is closer to the base than to every one kept so far, which spreads links in all directions.
    /// Reads <c>context.Ordered[0..count)</c>, sorted ascending; writes <c>context.Selected</c>; returns how many were kept.
    /// </summary>
    private int SelectNeighborsHeuristic(SearchContext context, int count, int max)
    {
        var ordered = context.Ordered;
        int[] selected = context.Selected;
        if (count < max)
        {
            for (int i = 0; i < count; i++) selected[i] = ordered[i].Node;
            return count;
        }

        GraphStorage storage = Storage;
        int kept = 0;
        for (int i = 0; i < count && kept < max; i++)
        {
            (float distanceToBase, int candidate) = ordered[i];
            float* candidateVector = storage.Vector(candidate);
            bool good = true;
            for (int j = 0; j < kept; j++)
            {
                if (TDistance.Compute(candidateVector, storage.Vector(selected[j]), _dimension) < distanceToBase)
                {
                    good = false;
                    break;
                }
            }
            if (good) selected[kept++] = candidate;
        }
        return kept;
    }

    private void SetOwnLinks(SearchContext context, int node, int layer, ReadOnlySpan<int> selected, int maxLinks)
    {
        GraphStorage storage = Storage;
        lock (storage.LinkLock(node))
        {
            Span<int> list = LinkList(node, layer, maxLinks);
            int existing = list[0];
            if (existing == 0)
            {
                selected.CopyTo(list[1..]);
                Volatile.Write(ref list[0], selected.Length);
                if (layer == 0)
                {
                    foreach (int neighbor in selected) Interlocked.Increment(ref storage.InLinks0[neighbor]);
                }
                return;
            }

            // Another insert found this node (through a level above) and linked itself here before we got here: keep its
            // link, merging both lists, pruned by the heuristic when they do not fit.
            context.EnsureOrdered(existing + selected.Length);
            var ordered = context.Ordered;
            float* vector = storage.Vector(node);
            int count = 0;
            for (int i = 1; i <= existing; i++) ordered[count++] = (Distance(vector, storage.Vector(list[i])), list[i]);
            foreach (int candidate in selected)
            {
                if (list.Slice(1, existing).Contains(candidate)) continue;
                ordered[count++] = (Distance(vector, storage.Vector(candidate)), candidate);
            }
            WritePruned(context, list, count, layer, maxLinks, mustKeep: -1);
        }
    }

    /// <summary>
    /// Adds <paramref name="newNode"/> to <paramref name="node"/>'s list, pruning with the heuristic when it is full;
    /// <paramref name="mustKeep"/> (or −1) is kept past the heuristic when there is room, as a last in-link is.
    /// </summary>
    private void AddLink(SearchContext context, int node, int newNode, int layer, int maxLinks, int mustKeep)
    {
        GraphStorage storage = Storage;
        lock (storage.LinkLock(node))
        {
            Span<int> list = LinkList(node, layer, maxLinks);
            int count = list[0];
            if (list.Slice(1, count).Contains(newNode)) return;
            if (count < maxLinks)
            {
                list[1 + count] = newNode;
                Volatile.Write(ref list[0], count + 1);
                if (layer == 0) Interlocked.Increment(ref storage.InLinks0[newNode]);
                return;
            }

            context.EnsureOrdered(count + 1);
            var ordered = context.Ordered;
            float* vector = storage.Vector(node);
            for (int i = 0; i < count; i++) ordered[i] = (Distance(vector, storage.Vector(list[1 + i])), list[1 + i]);
            ordered[count] = (Distance(vector, storage.Vector(newNode)), newNode);
            WritePruned(context, list, count + 1, layer, maxLinks, mustKeep);
        }
    }

    /// <summary>
    /// Sorts <c>context.Ordered[0..count)</c> (the list's members and the newcomers), keeps what the heuristic keeps, and
    /// writes it to the list, count last. On level 0 it also keeps, while there is room, any candidate this list is the
    /// only way into.
    /// </summary>
    /// <remarks>
    /// The heuristic alone orphans outliers: a point whose one neighbour is its nearest one is dropped from that
    /// neighbour's list as soon as a later point sits between them, and nothing else links to it; no search can find it
    /// again. Shuffled sequential builds of 8,000 clustered points lost one point in 3 of 150 builds that way. The
    /// heuristic rarely fills a pruned list (it keeps the diverse neighbours, typically fewer than 2·M), so there is
    /// nearly always room. The in-link count is decremented before the test, so of two lists pruning the same node at
    /// once, the second to get there keeps it.
    /// </remarks>
    private void WritePruned(SearchContext context, Span<int> list, int count, int layer, int maxLinks, int mustKeep)
    {
        context.Ordered.AsSpan(0, count).Sort(static (a, b) => a.Distance.CompareTo(b.Distance));
        int kept = SelectNeighborsHeuristic(context, count, maxLinks);
        if (layer == 0)
        {
            ReadOnlySpan<int> previous = list.Slice(1, list[0]);
            kept = KeepLastInLinksAndCount(context, count, kept, maxLinks, previous, mustKeep);
        }
        context.Selected.AsSpan(0, kept).CopyTo(list[1..]);
        Volatile.Write(ref list[0], kept);
    }

    /// <summary>
    /// For a level-0 prune: updates <see cref="GraphStorage.InLinks0"/> for the candidates dropped and added, and appends
    /// to <c>context.Selected</c> the members it dropped that this list was the last in-link of, and
    /// <paramref name="mustKeep"/>. Returns the new count of selected.
    /// </summary>
    private int KeepLastInLinksAndCount(SearchContext context, int count, int kept, int maxLinks, ReadOnlySpan<int> previous, int mustKeep)
    {
        NativeChunkedArray<int> inLinks = Storage.InLinks0;
        var ordered = context.Ordered;
        int[] selected = context.Selected;
        int heuristicKept = kept;
        for (int i = 0; i < count; i++)
        {
            int candidate = ordered[i].Node;
            if (selected.AsSpan(0, heuristicKept).Contains(candidate)) continue;
            bool wasLinked = previous.Contains(candidate);
            // A newcomer the heuristic dropped is still linked by the other lists of its insert, or rescued by mustKeep.
            bool keep = wasLinked ? Interlocked.Decrement(ref inLinks[candidate]) == 0 && _keepsLastInLinks : candidate == mustKeep;
            if (!keep) continue;
            if (kept < maxLinks) selected[kept++] = candidate;
            else if (EvictableMember(selected, heuristicKept, previous) is int slot and >= 0) selected[slot] = candidate;
            else continue;
            if (wasLinked) Interlocked.Increment(ref inLinks[candidate]);
        }
        for (int i = 0; i < kept; i++)
        {
            if (!previous.Contains(selected[i])) Interlocked.Increment(ref inLinks[selected[i]]);
        }
        return kept;
    }

    /// <summary>
    /// When the heuristic filled the list, the farthest member the list is not the last way into, which gives its slot
    /// to an orphan (its own in-link count already taken down); −1 when every member depends on this list.
    /// </summary>
    private int EvictableMember(int[] selected, int heuristicKept, ReadOnlySpan<int> previous)
    {
        NativeChunkedArray<int> inLinks = Storage.InLinks0;
        for (int slot = heuristicKept - 1; slot >= 0; slot--)
        {
            int member = selected[slot];
            if (!previous.Contains(member))
            {
                if (Volatile.Read(ref inLinks[member]) > 0) return slot;
            }
            else if (Interlocked.Decrement(ref inLinks[member]) > 0) return slot;
            else Interlocked.Increment(ref inLinks[member]);
        }
        return -1;
    }

    /// <summary>A node's link list on a level: slot 0 is the count, then room for <paramref name="maxLinks"/> ids.</summary>
    private Span<int> LinkList(int node, int layer, int maxLinks)
    {
        if (layer == 0) return new Span<int>(Storage.Links0(node), 1 + maxLinks);
        int[] upper = Storage.UpperLinks[node]!;
        return upper.AsSpan((layer - 1) * Storage.UpperLevelStride, 1 + maxLinks);
    }

    private ReadOnlySpan<int> UpperNeighbors(int node, int layer)
    {
        int[]? upper = Storage.UpperLinks[node];
        Debug.Assert(upper is not null && upper.Length >= layer * Storage.UpperLevelStride);
        int offset = (layer - 1) * Storage.UpperLevelStride;
        int count = Volatile.Read(ref upper[offset]);
        return upper.AsSpan(offset + 1, count);
    }
}
