namespace AnnServer.Core.Filtering;

/// <summary>How a filtered search runs: a filtered walk of the graph, or an exact scan of the matching points.</summary>
internal enum FilteredSearchStrategy
{
    GraphWalk,
    ExactScan,
}

/// <summary>The planner's choice for one filtered search; <see cref="WalkEf"/> is the ef of the walk.</summary>
internal readonly record struct FilteredSearchPlan(FilteredSearchStrategy Strategy, int WalkEf);

/// <summary>
/// Chooses between walking the graph and scanning the matching points, from the compiled filter's estimate of how many
/// live points pass (<see cref="FilterCompiler"/>).
/// </summary>
/// <remarks>
/// With a fraction s of points passing, a graph search must visit about ef/s nodes to collect ef results, each costing
/// up to 2·M distances: about 2·M·ef/s distances. Scanning costs s·N distances (plus a cheap filter test per node).
/// The two are equal where s·N = 2·M·ef/s, that is where the matching count s·N = √(2·M·ef·N); below it the scan is
/// cheaper, and it is exact. At low selectivity the graph also loses recall (the passing points stop forming a
/// connected graph), so erring towards the scan is safe.
/// </remarks>
internal static class FilteredSearchPlanner
{
    public static FilteredSearchPlan Choose(double estimatedMatches, long nodes, int m, int ef)
    {
        if (estimatedMatches * estimatedMatches < 2.0 * m * ef * nodes)
            return new FilteredSearchPlan(FilteredSearchStrategy.ExactScan, ef);
        return new FilteredSearchPlan(FilteredSearchStrategy.GraphWalk, ef);
    }
}
