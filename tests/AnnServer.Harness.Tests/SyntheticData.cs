using AnnServer.Core;
using AnnServer.Datasets;

namespace AnnServer.Harness.Tests;

/// <summary>Small clustered data sets, the same for a given seed, written as the files the harness reads.</summary>
internal static class SyntheticData
{
    public static VectorSet Clustered(int count, int dimension, int seed, int clusters = 20)
    {
        var random = new Random(seed);
        var centres = new float[clusters * dimension];
        for (int i = 0; i < centres.Length; i++) centres[i] = (float)(random.NextDouble() * 10);
        var data = new float[count * dimension];
        for (int r = 0; r < count; r++)
        {
            int c = random.Next(clusters);
            for (int d = 0; d < dimension; d++)
                data[r * dimension + d] = centres[c * dimension + d] + (float)Gaussian(random);
        }
        return new VectorSet(data, count, dimension);
    }

    /// <summary>Writes base.fvecs, query.fvecs and an exact gt.ivecs (top <paramref name="depth"/>) into the folder.</summary>
    public static (string Base, string Queries, string GroundTruth) WriteFiles(string folder, int count, int queries, int dimension, int depth = 20)
    {
        var baseVectors = Clustered(count, dimension, seed: 1);
        var queryVectors = Clustered(queries, dimension, seed: 2);
        string basePath = Path.Combine(folder, "base.fvecs"), queryPath = Path.Combine(folder, "query.fvecs"), truthPath = Path.Combine(folder, "gt.ivecs");
        Texmex.WriteFvecs(basePath, baseVectors);
        Texmex.WriteFvecs(queryPath, queryVectors);
        var hits = ExactSearch.SearchBatch(baseVectors.Data, queryVectors.Data, dimension, depth, DistanceMetric.L2);
        Texmex.WriteIvecs(truthPath, hits.Select(row => row.Select(h => (int)h.Id).ToArray()).ToArray());
        return (basePath, queryPath, truthPath);
    }

    private static double Gaussian(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}
