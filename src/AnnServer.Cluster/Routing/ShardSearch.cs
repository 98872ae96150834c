using AnnServer.Collections;
using AnnServer.Core;

namespace AnnServer.Cluster.Routing;

/// <summary>One shard's part of a cluster search: the queries (validated against the collection's spec), k and ef,
/// and the stream sequence the replica must have applied first (0: none); what each hit carries
/// (<see cref="Payload"/>, <see cref="WithVector"/>), the farthest a hit may be (<see cref="ScoreThreshold"/>) and how a
/// quantized replica re-ranks (<see cref="Quantization"/>), as in <see cref="SearchParameters"/>.</summary>
public sealed record ShardSearch(string Collection, int Shard, IReadOnlyList<SearchQuery> Queries, int K, int Ef, ulong MinSequence)
{
    public PayloadSelection Payload { get; init; } = PayloadSelection.None;
    public bool WithVector { get; init; }
    public float? ScoreThreshold { get; init; }
    public QuantizedSearchOptions Quantization { get; init; }

    /// <summary>A best-score recommendation's examples: the queries' vectors are then not used (null: a plain search).</summary>
    public BestScoreExamples? Examples { get; init; }

    public bool WantsHitData => WithVector || !Payload.IsNone;

    /// <summary>The search as the replica's collection runs it (the read's consistency was the router's to honour).</summary>
    public SearchParameters Parameters => new(K, Ef, ReadOptions.Default)
    {
        Payload = Payload,
        WithVector = WithVector,
        ScoreThreshold = ScoreThreshold,
        Quantization = Quantization,
    };
}

/// <summary>One shard's part of a cluster Get: ids that all hash to the shard, each once, and the stream sequence the
/// replica must have applied first (0: none). <see cref="MaxAnswerBytes"/> bounds the part's answer; each point carries
/// <see cref="Payload"/> and, with <see cref="WithVector"/>, its vector (as <see cref="GetParameters"/>' defaults).</summary>
public sealed record ShardGet(string Collection, int Shard, long[] Ids, ulong MinSequence, long MaxAnswerBytes)
{
    public PayloadSelection Payload { get; init; } = PayloadSelection.All;
    public bool WithVector { get; init; } = true;
}

/// <summary>One shard's part of a cluster Count: the live points passing <see cref="Filter"/> (null: all).</summary>
public sealed record ShardCount(string Collection, int Shard, SearchFilter? Filter, ulong MinSequence);

/// <summary>One shard's part of a cluster Scroll: a page of <see cref="Page"/>'s limit after its cursor, as a single
/// server answers it (its <see cref="ScrollParameters.Read"/> is not used: the sequence is <see cref="MinSequence"/>).</summary>
public sealed record ShardScroll(string Collection, int Shard, ScrollParameters Page, ulong MinSequence);
