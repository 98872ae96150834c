namespace AnnServer.Cluster.Routing;

/// <summary>Where a merged hit came from: the shard answer's index among those merged, and the hit's slot in its hits.</summary>
public readonly record struct HitSource(int Answer, int Slot);
