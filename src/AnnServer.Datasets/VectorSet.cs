namespace AnnServer.Datasets;

/// <summary>Vectors read from a file: <see cref="Count"/> rows of <see cref="Dimension"/> float32 components, row-major.</summary>
public sealed class VectorSet
{
    public VectorSet(float[] data, int count, int dimension)
    {
        if ((long)count * dimension != data.Length)
            throw new ArgumentException($"{count} rows of dimension {dimension} need {(long)count * dimension} floats, got {data.Length}");
        Data = data;
        Count = count;
        Dimension = dimension;
    }

    public float[] Data { get; }
    public int Count { get; }
    public int Dimension { get; }

    public ReadOnlySpan<float> Row(int index) => Data.AsSpan(index * Dimension, Dimension);
}
