namespace AnnServer.Core;

// PUBLIC CONTRACT (stub, being implemented)
/// <summary>Brute-force top-k over plain row-major arrays: ground truth for benchmarks and tests.</summary>
public static class ExactSearch
{
    /// <summary>For each query (row-major, count × dimension), the k nearest rows of <paramref name="baseVectors"/>,
    /// as hits whose Id is the row number, sorted by distance then row. Runs over <paramref name="threads"/> threads (0 = all cores).</summary>
    public static SearchHit[][] SearchBatch(ReadOnlyMemory<float> baseVectors, ReadOnlyMemory<float> queries, int dimension,
        int k, DistanceMetric metric, int threads = 0, IProgress<int>? progress = null) => throw new NotImplementedException();
}
