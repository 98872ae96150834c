using AnnServer.Collections;

namespace AnnServer.Cluster.Routing;

/// <summary>One shard's part of a cluster search: the queries (validated against the collection's spec), k and ef,
/// and the stream sequence the replica must have applied first (0: none).</summary>
public sealed record ShardSearch(string Collection, int Shard, IReadOnlyList<SearchQuery> Queries, int K, int Ef, ulong MinSequence);

/// <summary>One shard's part of a cluster Get: ids that all hash to the shard, each once, and the stream sequence the
/// replica must have applied first (0: none). <see cref="MaxAnswerBytes"/> bounds the part's answer.</summary>
public sealed record ShardGet(string Collection, int Shard, long[] Ids, ulong MinSequence, long MaxAnswerBytes);
