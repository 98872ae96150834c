using Xunit.Abstractions;

namespace AnnServer.Cluster.Tests;

/// <summary>
/// Starts StreamTrimClusterTests, the longest of the parallel classes (its own cluster of annserver processes, 35 s),
/// before the others, so that the short ones run beside it on the other core instead of it starting last and running
/// alone (it started 20-29 s into the run and ended the parallel phase 4-15 s after everything else). The rest keep
/// xUnit's order; the DisableParallelization collections run after the parallel ones whatever their place here.
/// </summary>
public sealed class LongestFirstCollectionOrderer : ITestCollectionOrderer
{
    public IEnumerable<ITestCollection> OrderTestCollections(IEnumerable<ITestCollection> testCollections) =>
        testCollections.OrderBy(c => c.DisplayName.EndsWith("." + nameof(StreamTrimClusterTests), StringComparison.Ordinal) ? 0 : 1);
}
