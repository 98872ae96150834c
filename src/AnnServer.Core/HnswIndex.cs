namespace AnnServer.Core;

// PUBLIC CONTRACT (stub, being implemented): signatures are fixed; bodies come with the engine.
/// <summary>
/// A memory-resident HNSW index of float32 vectors with 64-bit ids, labels and deletes.
/// Thread-safe: any number of searches may run while inserts and deletes go on.
/// </summary>
public sealed partial class HnswIndex : IDisposable
{
    public HnswIndex(HnswOptions options) => throw new NotImplementedException();

    public int Dimension => throw new NotImplementedException();
    public DistanceMetric Metric => throw new NotImplementedException();
    public int M => throw new NotImplementedException();
    public int EfConstruction => throw new NotImplementedException();

    /// <summary>Live points (not deleted).</summary>
    public int Count => throw new NotImplementedException();

    /// <summary>Graph nodes, including the tombstones of deleted or replaced points.</summary>
    public int NodeCount => throw new NotImplementedException();

    /// <summary>Bytes held by vectors, links, ids and labels.</summary>
    public long MemoryBytes => throw new NotImplementedException();

    /// <summary>Inserts a point, or replaces the vector and labels of an existing id. Returns true when it replaced one.</summary>
    /// <exception cref="ArgumentException">wrong dimension, NaN or infinite component.</exception>
    public bool Upsert(long id, ReadOnlySpan<float> vector, ReadOnlySpan<int> labels = default) => throw new NotImplementedException();

    /// <summary>Inserts many points over <paramref name="threads"/> threads (0 = all cores).
    /// <paramref name="vectors"/> is row-major, ids.Length × Dimension. <paramref name="labels"/> is null or one entry per id.
    /// <paramref name="progress"/> receives the number of points inserted so far, now and then.</summary>
    public void UpsertMany(ReadOnlyMemory<float> vectors, ReadOnlyMemory<long> ids, IReadOnlyList<int[]?>? labels = null,
        int threads = 0, IProgress<int>? progress = null, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    /// <summary>Deletes a point: it keeps routing searches but is never returned. Returns false when the id is unknown.</summary>
    public bool Delete(long id) => throw new NotImplementedException();

    public bool Contains(long id) => throw new NotImplementedException();

    /// <summary>Copies the stored vector (normalised, for cosine) into <paramref name="vector"/> and returns its labels.</summary>
    public bool TryGet(long id, Span<float> vector, out int[] labels) => throw new NotImplementedException();

    /// <summary>Approximate top-k, sorted by distance then id. Writes at most k hits and returns how many.
    /// Allocates nothing when the filter is null.</summary>
    /// <exception cref="ArgumentException">wrong dimension, NaN or infinite component, k ≤ 0, ef &lt; k, results shorter than k.</exception>
    public int Search(ReadOnlySpan<float> query, int k, int ef, Span<SearchHit> results, SearchFilter? filter = null) => throw new NotImplementedException();

    public SearchHit[] Search(ReadOnlySpan<float> query, int k, int ef, SearchFilter? filter = null) => throw new NotImplementedException();

    /// <summary>Exact top-k by brute force over every live point, over all cores for large indexes.</summary>
    public SearchHit[] ExactSearch(ReadOnlySpan<float> query, int k, SearchFilter? filter = null) => throw new NotImplementedException();

    public void Dispose() { }
}
