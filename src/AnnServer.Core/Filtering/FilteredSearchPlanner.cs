namespace AnnServer.Core.Filtering;

/// <summary>How a filtered search runs: a walk of the graph, or an exact scan of the matching points.</summary>
internal enum FilteredSearchStrategy
{
    /// <summary>The plain walk: every neighbour's distance is computed; failing nodes route but are not returned.</summary>
    GraphWalk,

    /// <summary>The walk over passing nodes only, reaching past failing neighbours to theirs (ACORN-1).</summary>
    TwoHopWalk,

    ExactScan,
}

/// <summary>The planner's choice for one filtered search; <see cref="WalkEf"/> is the ef of a walk.</summary>
internal readonly record struct FilteredSearchPlan(FilteredSearchStrategy Strategy, int WalkEf);

/// <summary>
/// Chooses the cheapest of three ways to run a filtered search, from the compiled filter's estimate m of how many of
/// the N nodes pass (<see cref="FilterCompiler"/>; s = m/N). Costs are counted in distance computations.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>Plain walk: to collect ef passing results it visits about ef/s nodes, each with up to 2·M neighbours whose
/// distances it computes: 2·M·ef/s.</item>
/// <item>Two-hop walk: visits about ef passing nodes, each with up to 2·M distances and up to (2·M)² filter tests of
/// the two-hop neighbourhood: ef·(2·M + f·(2·M)²).</item>
/// <item>Exact scan: a filter test per node and a distance per passing node: f·N + m; or, when the filter has
/// candidate lists (<see cref="CompiledFilter.Candidates"/>: a keyword match's postings, a range's slice of its field's
/// sorted index), a filter test and a random
/// access per candidate c instead of per node: (1 + f)·c + m.</item>
/// </list>
/// f is the cost of a filter test (or of reading a failing neighbour's list) in distances. A distance costs more the more
/// dimensions it reads, a filter test does not, so f falls with the dimension: 0.3 on 32-d vectors (a range test 6.5 ns
/// a node against about 22 ns a distance of the walk, 100,000 points; tests/AnnServer.Core.Tests/Filtering/
/// FilteredSearchMeasurement.cs gives the command) and 0.1 on Fashion-MNIST's 784 (fitted to the paired runs of
/// `ann-bench filtered --strategy walk two-hop scan`, 300 queries: at 50 % the walk did 0.77× the unfiltered QPS at
/// recall 0.95 and the two-hop walk 0.36×; at 10 % 0.18× and 0.46×: the two-hop walk cost about 130·ef distances at
/// both, ef·(2·M + f·(2·M)²) with f = 0.1). Between and beyond, f = 0.3·(32/d)^⅓, the curve through both points;
/// with the 784-d f of 0.3 the planner walked at 10 % (2.6× slower than the two-hop walk there).
/// The two-hop walk keeps only the passing nodes as its graph, which falls apart when few pass (on 50 clusters, 1 %
/// passing gave recall@10 0.93 at any ef; on Fashion-MNIST 0.72 at ef 10 to 0.87 at ef 64, where the planner took it
/// for a 1 % price range): it is chosen only when m ≥ 2·M·ef and a two-hop neighbourhood holds at least M passing
/// nodes on average, s·(2·M)² ≥ M (s ≥ 1.6 % for M = 16), and a two-hop walk that runs out of candidates before
/// holding ef results is taken as cut off and answered by the exact scan instead.
/// </remarks>
internal static class FilteredSearchPlanner
{
    /// <summary>The dimension at which a filter test costs 0.3 distances (see remarks).</summary>
    public const int ReferenceDimension = 32;

    /// <summary>The cost of a filter test, in distance computations of this many dimensions (see remarks).</summary>
    public static double FilterTestCost(int dimension) => 0.3 * Math.Cbrt(ReferenceDimension / (double)Math.Max(1, dimension));

    /// <summary>Whether a scan visits the filter's candidates only rather than every node: when that tests fewer.</summary>
    public static bool ScansCandidates(long candidates, long nodes, int dimension)
    {
        double f = FilterTestCost(dimension);
        return candidates >= 0 && (1 + f) * candidates < f * nodes;
    }

    /// <param name="candidates">the filter's candidate count, or −1 when a scan visits every node.</param>
    public static FilteredSearchPlan Choose(double estimatedMatches, long nodes, int m, int ef, long candidates = -1, int dimension = ReferenceDimension)
    {
        double matching = Math.Max(estimatedMatches, 1);
        double links = 2.0 * m;
        double f = FilterTestCost(dimension);
        double scan = ScansCandidates(candidates, nodes, dimension)
            ? (1 + f) * candidates + matching
            : f * nodes + matching;
        double walk = links * ef * nodes / matching;
        bool connected = matching >= links * ef && matching / nodes * links * links >= m;
        double twoHop = connected ? ef * (links + f * links * links) : double.PositiveInfinity;

        if (scan <= walk && scan <= twoHop) return new FilteredSearchPlan(FilteredSearchStrategy.ExactScan, ef);
        return new FilteredSearchPlan(twoHop < walk ? FilteredSearchStrategy.TwoHopWalk : FilteredSearchStrategy.GraphWalk, ef);
    }
}
