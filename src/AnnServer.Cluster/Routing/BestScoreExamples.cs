namespace AnnServer.Cluster.Routing;

/// <summary>A best-score recommendation's example vectors as the router sends them to every shard (the ids' vectors were
/// read first, from their own shards): positives and negatives, each laid end to end, normalised for cosine.</summary>
public sealed record BestScoreExamples(float[] Positives, float[] Negatives);
