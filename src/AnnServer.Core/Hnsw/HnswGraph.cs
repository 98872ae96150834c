using AnnServer.Core.Distance;
using AnnServer.Core.Filtering;

namespace AnnServer.Core.Hnsw;

/// <summary>
/// The HNSW algorithms over a <see cref="GraphStorage"/>. The concrete class is generic over the distance, chosen once
/// when the index is made; callers pay one virtual call per search or insert, none per distance.
/// </summary>
internal abstract unsafe partial class HnswGraph(GraphStorage storage)
{
    public GraphStorage Storage { get; } = storage;

    /// <summary>For measurements: whether a two-hop walk whose descent ends among failing nodes starts from a sample of
    /// the filter's candidates instead (on unless a benchmark pairs it against the walk without).</summary>
    public bool SeedsTwoHopWalks { get; set; } = true;

    /// <summary>For measurements: candidates sampled, and seeds kept of them, when a two-hop walk is seeded.</summary>
    public int SeedSample { get; set; } = 64;
    public int SeedCount { get; set; } = 4;

    /// <summary>For measurements: the ef of a seeded two-hop walk, as a multiple of the ef asked for.</summary>
    public int SeededEfFactor { get; set; } = 1;

    /// <summary>For measurements: whether a seeded walk also starts from the greedy descent's end.</summary>
    public bool SeedsKeepEntry { get; set; }

    /// <summary>For measurements: whether a seeded walk also takes the passing nodes an unfiltered walk meets as seeds.</summary>
    public bool SeedsFromUnfilteredWalk { get; set; }

    /// <summary>For measurements: whether a seeded walk also takes the nearest passing nodes of level 1 as seeds.</summary>
    public bool SeedsFromLevel1 { get; set; }

    public static HnswGraph Create(GraphStorage storage) => storage.Metric switch
    {
        DistanceMetric.L2 => new HnswGraph<SquaredL2Distance>(storage),
        DistanceMetric.InnerProduct or DistanceMetric.Cosine => new HnswGraph<InnerProductDistance>(storage),
        _ => throw new ArgumentOutOfRangeException(nameof(storage), $"unknown metric {storage.Metric}"),
    };

    /// <summary>Links an allocated node, whose vector is written, into every level up to its own.</summary>
    public abstract void Insert(int node, SearchContext context);

    /// <summary>Approximate search: leaves up to <paramref name="ef"/> accepted nodes in <c>context.Results</c> (farthest on top).
    /// With <paramref name="twoHop"/> a filtered search steps over failing nodes to their neighbours instead of computing
    /// their distances.</summary>
    public abstract void Search(SearchContext context, float* query, int ef, CompiledFilter? filter, bool twoHop = false);

    /// <summary>Exact scan of nodes [from, to): keeps the k nearest accepted nodes in <c>context.Results</c> (farthest on top).</summary>
    public abstract void ScanExact(SearchContext context, float* query, int k, CompiledFilter? filter, int from, int to);

    /// <summary>Exact scan of the filter's candidate lists: keeps the k nearest accepted nodes in <c>context.Results</c>,
    /// each node considered once however often it is listed.</summary>
    public abstract void ScanCandidates(SearchContext context, float* query, int k, CompiledFilter filter, CandidateList[] candidates);

    public abstract float Distance(float* a, float* b);
}
