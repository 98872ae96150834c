using AnnServer.Collections;

namespace AnnServer.Cluster.Routing;

/// <summary>One shard's answer to a search: its hits, and what they carry when the search asked for it (null otherwise).</summary>
public sealed record ShardSearchAnswer(BatchSearchResult Hits, ShardHitData? Data);
