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

    /// <summary>Links among the points of each value of the linked keyword fields (<see cref="Hnsw.ValueLinks"/>), one
    /// table a field; replaced whole when a field is added, so a search reads a consistent array without a lock.</summary>
    public ValueLinks[] ValueLinks { get; set; } = [];

    /// <summary>The complete links of <paramref name="field"/>, or null: the ones a walk filtered on that field follows.</summary>
    public ValueLinks? FollowedLinksOf(string? field)
    {
        if (field is null || !FollowsValueLinks) return null;
        foreach (ValueLinks links in ValueLinks)
            if (links.IsComplete && links.Field == field) return links;
        return null;
    }

    /// <summary>For measurements: whether walks follow <see cref="ValueLinks"/> (and seed from candidates for them).</summary>
    public bool FollowsValueLinks { get; set; } = true;

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
    /// their distances. A quantized index re-ranks the nearest <paramref name="rerankPool"/> of them by their codes with the
    /// float32 vectors and leaves only those; with <see cref="RerankPool.None"/> it leaves the walk's results with their
    /// codes' distances and reads no float32 vector.</summary>
    public abstract void Search(SearchContext context, float* query, int ef, CompiledFilter? filter, bool twoHop = false, int rerankPool = int.MaxValue);

    /// <summary>Exact scan of nodes [from, to): keeps the k nearest accepted nodes in <c>context.Results</c> (farthest on top).</summary>
    public abstract void ScanExact(SearchContext context, float* query, int k, CompiledFilter? filter, int from, int to);

    /// <summary>Exact scan of the filter's candidate lists: keeps the k nearest accepted nodes in <c>context.Results</c>,
    /// each node considered once however often it is listed.</summary>
    public abstract void ScanCandidates(SearchContext context, float* query, int k, CompiledFilter filter, CandidateList[] candidates);

    public abstract float Distance(float* a, float* b);
}
