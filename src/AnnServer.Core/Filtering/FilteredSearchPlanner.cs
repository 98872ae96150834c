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
/// candidate lists (<see cref="CompiledFilter.Candidates"/>: a keyword match's postings), a filter test and a random
/// access per candidate c instead of per node: (1 + f)·c + m.</item>
/// </list>
/// f is the cost of a filter test in distances: 0.3, measured on 32-d vectors (a range test 6.5 ns a node against
/// about 22 ns a distance of the walk, 100,000 points; tests/AnnServer.Core.Tests/Filtering/FilteredSearchMeasurement.cs
/// gives the command). Higher dimensions make
/// distances dearer and f smaller, which moves the choice towards the walks.
/// The two-hop walk keeps only the passing nodes as its graph, which falls apart when few pass (on 50 clusters, 1 %
/// passing gave recall@10 0.93 at any ef): it is chosen only when m ≥ 2·M·ef, and a two-hop walk that runs out of
/// candidates before holding ef results is taken as cut off and answered by the exact scan instead.
/// </remarks>
internal static class FilteredSearchPlanner
{
    /// <summary>The cost of a filter test, in distance computations (see remarks).</summary>
    public const double FilterTestCost = 0.3;

    /// <param name="candidates">the filter's candidate count, or −1 when a scan visits every node.</param>
    public static FilteredSearchPlan Choose(double estimatedMatches, long nodes, int m, int ef, long candidates = -1)
    {
        double matching = Math.Max(estimatedMatches, 1);
        double links = 2.0 * m;
        double scan = candidates >= 0 && (1 + FilterTestCost) * candidates < FilterTestCost * nodes
            ? (1 + FilterTestCost) * candidates + matching
            : FilterTestCost * nodes + matching;
        double walk = links * ef * nodes / matching;
        double twoHop = matching >= links * ef ? ef * (links + FilterTestCost * links * links) : double.PositiveInfinity;

        if (scan <= walk && scan <= twoHop) return new FilteredSearchPlan(FilteredSearchStrategy.ExactScan, ef);
        return new FilteredSearchPlan(twoHop < walk ? FilteredSearchStrategy.TwoHopWalk : FilteredSearchStrategy.GraphWalk, ef);
    }
}
