using AnnServer.Core;
using AnnServer.Protocol.V1;

namespace AnnServer.Tests;

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

    /// <summary>An index of <paramref name="count"/> points with ids 1000 + row and label row % 10.</summary>
    public static HnswIndex BuildIndex(int count, int dimension, DistanceMetric metric, int seed, out float[] vectors)
    {
        vectors = RandomVectors(count, dimension, seed);
        var index = new HnswIndex(new HnswOptions { Dimension = dimension, Metric = metric, M = 12, EfConstruction = 100 });
        for (int i = 0; i < count; i++)
            index.Upsert(1000 + i, vectors.AsSpan(i * dimension, dimension), [i % 10]);
        return index;
    }

    public static Point Point(long id, float[] vector, params int[] labels)
    {
        var point = new Point { Id = id };
        point.Vector.Add(vector);
        point.Labels.Add(labels);
        return point;
    }

    public static SearchRequest Search(string collection, float[] query, int k, int? ef = null)
    {
        var request = new SearchRequest { Collection = collection, K = k };
        request.Query.Add(query);
        if (ef is int value) request.Ef = value;
        return request;
    }
}
