using System.Runtime.InteropServices;

namespace AnnServer.Core.Hnsw;

/// <summary>
/// The scratch state of one search or insert, rented from a <see cref="SearchContextPool"/> so the hot path allocates nothing:
/// the visited set, both heaps, buffers for neighbour selection and a 64-byte aligned copy of the query.
/// </summary>
internal sealed unsafe partial class SearchContext : IDisposable
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
    private byte* _queryCodes;

    /// <summary>A 64-byte aligned buffer for the query's int8 codes (quantized indexes only; <see cref="Int8Codes.EncodeQuery"/>,
    /// <see cref="Int4Codes.EncodeQuery"/>).</summary>
    public byte* QueryCodes(int dimension)
    {
        if (_queryCodes == null)
            _queryCodes = (byte*)NativeMemory.AlignedAlloc((nuint)Math.Max(Int8Codes.QueryBytes(dimension), Int4Codes.QueryBytes(dimension)), 64);
        return _queryCodes;
    }
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
        Free();
        GC.SuppressFinalize(this);
    }

    ~SearchContext() => Free();

    private void Free()
    {
        if (Query != null) NativeMemory.AlignedFree(Query);
        if (_queryCodes != null) NativeMemory.AlignedFree(_queryCodes);
        Query = null;
        _queryCodes = null;
    }
}
