using AnnServer.Core;

namespace AnnServer.Core.Tests;

/// <summary>Synthetic data the tests make for themselves: clustered Gaussian vectors, as real embeddings cluster.</summary>
internal static class TestData
{
    /// <summary>
    /// Points scattered around cluster centres. The centres depend only on <paramref name="clusters"/> and the dimension, so
    /// two calls with different seeds give base points and queries from the same distribution.
    /// </summary>
    public static float[] Clustered(int count, int dimension, int seed, int clusters = 50)
    {
        var centerRandom = new Random(clusters * 7919 + dimension);
        var centers = new float[clusters * dimension];
        for (int i = 0; i < centers.Length; i++) centers[i] = (float)(centerRandom.NextDouble() * 2 - 1);
        var random = new Random(seed);
        var data = new float[count * dimension];
        for (int row = 0; row < count; row++)
        {
            int center = random.Next(clusters);
            for (int d = 0; d < dimension; d++)
                data[row * dimension + d] = centers[center * dimension + d] + (float)(Gaussian(random) * 0.15);
        }
        return data;
    }

    public static double Gaussian(Random random)
    {
        double u1 = 1.0 - random.NextDouble();
        double u2 = random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    public static long[] Ids(int count, long offset = 0)
    {
        var ids = new long[count];
        for (int i = 0; i < count; i++) ids[i] = offset + i;
        return ids;
    }

    public static ReadOnlySpan<float> Row(float[] data, int row, int dimension) => data.AsSpan(row * dimension, dimension);

    /// <summary>Fraction of the exact top-k ids that the approximate answer found.</summary>
    public static double Recall(SearchHit[] approximate, SearchHit[] exact)
    {
        if (exact.Length == 0) return 1;
        var truth = new HashSet<long>();
        foreach (var hit in exact) truth.Add(hit.Id);
        int found = 0;
        foreach (var hit in approximate) if (truth.Contains(hit.Id)) found++;
        return (double)found / exact.Length;
    }
}
