using System.Runtime.InteropServices;

namespace AnnServer.Core.Hnsw;

/// <summary>
/// The scratch state of one search or insert, rented from a <see cref="SearchContextPool"/> so the hot path allocates nothing:
/// the visited set, both heaps, buffers for neighbour selection and a 64-byte aligned copy of the query.
/// </summary>
internal sealed unsafe class SearchContext : IDisposable
{
    // Generation-stamped visited set (hnswlib's visited_list_pool): a node is visited when its stamp equals the
    // current generation, so starting a search costs one increment instead of clearing an array per search.
    private ushort[] _visited = [];
    private ushort _generation;

    public SearchContext(int dimension)
    {
        Dimension = dimension;
        Query = (float*)NativeMemory.AlignedAlloc((nuint)(Math.Max(dimension, 16) * sizeof(float)), 64);
    }

    public int Dimension { get; }
    public float* Query { get; private set; }
    public DistanceHeap Candidates { get; } = new();
    public DistanceHeap Results { get; } = new();

    /// <summary>Sorted candidates for neighbour selection: (distance, node).</summary>
    public (float Distance, int Node)[] Ordered { get; private set; } = new (float, int)[256];
    public int[] Selected { get; private set; } = new int[256];
    public SearchHit[] Hits { get; private set; } = new SearchHit[256];

    /// <summary>Distance computations made by the last search with this context.</summary>
    public int DistanceComputations;

    public ushort[] Visited => _visited;
    public ushort Generation => _generation;

    /// <summary>Starts a new visited generation, large enough for <paramref name="nodeCapacity"/> nodes.</summary>
    public void ResetVisited(int nodeCapacity)
    {
        if (_visited.Length < nodeCapacity)
        {
            _visited = new ushort[Math.Max(nodeCapacity, _visited.Length * 2)];
            _generation = 0;
        }
        if (++_generation == 0)
        {
            Array.Clear(_visited);
            _generation = 1;
        }
    }

    public void EnsureOrdered(int count)
    {
        if (Ordered.Length < count) Ordered = new (float, int)[Math.Max(count, Ordered.Length * 2)];
        if (Selected.Length < count) Selected = new int[Math.Max(count, Selected.Length * 2)];
    }

    public void EnsureHits(int count)
    {
        if (Hits.Length < count) Hits = new SearchHit[Math.Max(count, Hits.Length * 2)];
    }

    public void Dispose()
    {
        if (Query != null) NativeMemory.AlignedFree(Query);
        Query = null;
        GC.SuppressFinalize(this);
    }

    ~SearchContext()
    {
        if (Query != null) NativeMemory.AlignedFree(Query);
    }
}
