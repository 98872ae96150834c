namespace AnnServer.Datasets.Tests;

/// <summary>Small reproducible data sets.</summary>
internal static class Synthetic
{
    public static VectorSet Vectors(int count, int dimension, int seed = 1)
    {
        var random = new Random(seed);
        var data = new float[count * dimension];
        for (int i = 0; i < data.Length; i++) data[i] = (float)(random.NextDouble() * 2 - 1);
        return new VectorSet(data, count, dimension);
    }

    public static byte[] Bytes(int length, int seed = 1)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary>Writes .fvecs rows whose dimensions may differ (to make bad files).</summary>
    public static void WriteRawFvecs(string path, params float[][] rows)
    {
        using var stream = File.Create(path);
        using var writer = new BinaryWriter(stream);
        foreach (var row in rows)
        {
            writer.Write(row.Length);
            foreach (float value in row) writer.Write(value);
        }
    }
}
