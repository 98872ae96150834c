using AnnServer.Core;
using AnnServer.Datasets;

namespace AnnServer.Harness.Datasets;

/// <summary>
/// A catalogue-like dataset made from a seed: <c>clusters</c> centres drawn from N(0, 1) in every dimension, and each
/// point (base or query) a centre chosen uniformly plus N(0, <see cref="Spread"/>²) noise. Embedding catalogues are
/// clustered (categories, tastes) with high intrinsic dimension inside a cluster; this is the simplest data with both.
/// The same seed gives the same files on every machine (System.Random with a seed is a fixed algorithm).
/// </summary>
public static class ClusteredGaussian
{
    /// <summary>
    /// Noise relative to the spread of the centres: at 0.5 in 128 dimensions a point's distance to its own centre (~5.7)
    /// is well under the distance between centres (~16), so clusters are distinct, and inside one the neighbours are as
    /// hard to find as in an isotropic Gaussian.
    /// </summary>
    public const double Spread = 0.5;

    public sealed record Parameters(int Points, int Queries, int Dimension, int Clusters, int Seed);

    /// <summary>Writes base.fvecs, query.fvecs and gt-METRIC.ivecs per metric into <paramref name="outputFolder"/>.</summary>
    public static void Prepare(Parameters parameters, IReadOnlyList<DistanceMetric> metrics, string outputFolder, int threads,
        Action<string>? status = null, Action<int, int>? groundTruthProgress = null)
    {
        status?.Invoke($"{parameters.Points} base and {parameters.Queries} query vectors of dimension {parameters.Dimension} " +
            $"around {parameters.Clusters} centres, seed {parameters.Seed}");
        var random = new Random(parameters.Seed);
        float[] centres = Normal(random, (long)parameters.Clusters * parameters.Dimension, 1.0);
        VectorSet baseVectors = Sample(random, centres, parameters.Clusters, parameters.Points, parameters.Dimension);
        VectorSet queries = Sample(random, centres, parameters.Clusters, parameters.Queries, parameters.Dimension);

        Directory.CreateDirectory(outputFolder);
        Texmex.WriteFvecs(Path.Combine(outputFolder, "base.fvecs"), baseVectors);
        Texmex.WriteFvecs(Path.Combine(outputFolder, "query.fvecs"), queries);
        foreach (DistanceMetric metric in metrics)
        {
            string name = GroundTruthFileName(metric);
            status?.Invoke($"exact top {Math.Min(ExactGroundTruth.Depth, baseVectors.Count)} of {queries.Count} queries, {name}");
            ExactGroundTruth.Write(Path.Combine(outputFolder, name), baseVectors, queries, metric, threads, groundTruthProgress);
        }
    }

    public static string GroundTruthFileName(DistanceMetric metric) => $"gt-{MetricNames.Format(metric)}.ivecs";

    private static VectorSet Sample(Random random, float[] centres, int clusters, int count, int dimension)
    {
        float[] data = Normal(random, (long)count * dimension, Spread);
        for (int row = 0; row < count; row++)
        {
            ReadOnlySpan<float> centre = centres.AsSpan(random.Next(clusters) * dimension, dimension);
            Span<float> point = data.AsSpan(row * dimension, dimension);
            for (int i = 0; i < dimension; i++) point[i] += centre[i];
        }
        return new VectorSet(data, count, dimension);
    }

    /// <summary>Box–Muller pairs, deterministic for a seeded <see cref="Random"/>.</summary>
    private static float[] Normal(Random random, long count, double sigma)
    {
        var values = new float[count];
        for (long i = 0; i < count; i += 2)
        {
            double radius = sigma * Math.Sqrt(-2 * Math.Log(1 - random.NextDouble()));
            double angle = 2 * Math.PI * random.NextDouble();
            values[i] = (float)(radius * Math.Cos(angle));
            if (i + 1 < count) values[i + 1] = (float)(radius * Math.Sin(angle));
        }
        return values;
    }
}
