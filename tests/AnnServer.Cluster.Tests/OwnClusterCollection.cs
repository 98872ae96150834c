namespace AnnServer.Cluster.Tests;

/// <summary>Test classes that start a <see cref="LocalCluster"/> of their own and time it: like the shared cluster's,
/// they run alone (see TestParallelization.cs).</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class OwnClusterCollection
{
    public const string Name = "own cluster";
}
