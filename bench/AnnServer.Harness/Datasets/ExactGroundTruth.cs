using AnnServer.Core;
using AnnServer.Datasets;

namespace AnnServer.Harness.Datasets;

/// <summary>The exact top-<see cref="Depth"/> neighbours of every query, by parallel SIMD brute force, written as .ivecs of row numbers.</summary>
public static class ExactGroundTruth
{
    /// <summary>Neighbours written per query: enough for recall@100.</summary>
    public const int Depth = 100;

    public static void Write(string path, VectorSet baseVectors, VectorSet queries, DistanceMetric metric, int threads,
        Action<int, int>? progress)
    {
        int depth = Math.Min(Depth, baseVectors.Count);
        var hits = ExactSearch.SearchBatch(baseVectors.Data, queries.Data, baseVectors.Dimension, depth, metric, threads,
            progress is null ? null : new CallbackProgress(done => progress(done, queries.Count)));
        var truth = new int[hits.Length][];
        for (int q = 0; q < hits.Length; q++)
        {
            truth[q] = new int[hits[q].Length];
            for (int j = 0; j < hits[q].Length; j++) truth[q][j] = checked((int)hits[q][j].Id);
        }
        Texmex.WriteIvecs(path, truth);
    }

    /// <summary>Reports on the calling thread, in order (Progress&lt;T&gt; would post to the thread pool).</summary>
    private sealed class CallbackProgress(Action<int> report) : IProgress<int>
    {
        public void Report(int value) => report(value);
    }
}
