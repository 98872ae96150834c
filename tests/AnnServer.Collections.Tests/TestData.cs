namespace AnnServer.Collections.Tests;

/// <summary>Small synthetic data sets, reproducible from a seed.</summary>
public static class TestData
{
    /// <summary>count × dimension floats in [−1, 1), row-major.</summary>
    public static float[] RandomVectors(int count, int dimension, int seed)
    {
        var random = new Random(seed);
        var data = new float[count * dimension];
        for (int i = 0; i < data.Length; i++)
            data[i] = (float)(random.NextDouble() * 2 - 1);
        return data;
    }

    public static float[] Row(float[] data, int dimension, int row) => data.AsSpan(row * dimension, dimension).ToArray();
}
