using AnnServer.Core;

namespace AnnServer.Core.Tests.Hnsw;

public class ArgumentTests
{
    private static HnswIndex NewIndex()
    {
        var index = new HnswIndex(new HnswOptions { Dimension = 4 });
        index.Upsert(1, [1, 2, 3, 4]);
        return index;
    }

    [Theory]
    [InlineData(0, "dimension")]
    [InlineData(4097, "dimension")]
    public void OptionsOutOfRangeNameTheParameter(int dimension, string expected)
    {
        var error = Assert.Throws<ArgumentException>(() => new HnswIndex(new HnswOptions { Dimension = dimension }));
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void MOfOneIsRejected() =>
        Assert.Contains("M must be", Assert.Throws<ArgumentException>(() => new HnswIndex(new HnswOptions { Dimension = 4, M = 1 })).Message);

    [Fact]
    public void WrongDimensionIsRejected()
    {
        using var index = NewIndex();
        Assert.Contains("dimension 3, expected 4", Assert.Throws<ArgumentException>(() => index.Upsert(2, [1, 2, 3])).Message);
        Assert.Contains("dimension 5, expected 4", Assert.Throws<ArgumentException>(() => index.Search([1, 2, 3, 4, 5], 1, 1)).Message);
    }

    [Theory]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    [InlineData(float.NegativeInfinity)]
    public void NonFiniteComponentsAreRejected(float bad)
    {
        using var index = NewIndex();
        Assert.Contains("NaN or infinite", Assert.Throws<ArgumentException>(() => index.Upsert(2, [1, bad, 3, 4])).Message);
        Assert.Contains("NaN or infinite", Assert.Throws<ArgumentException>(() => index.Search([1, 2, 3, bad], 1, 1)).Message);
        Assert.Equal(1, index.Count);
    }

    [Theory]
    [InlineData(0, 10, "k must be positive")]
    [InlineData(-1, 10, "k must be positive")]
    [InlineData(10, 5, "ef must be at least k")]
    public void BadKOrEfIsRejected(int k, int ef, string expected)
    {
        using var index = NewIndex();
        Assert.Contains(expected, Assert.Throws<ArgumentException>(() => index.Search([1, 2, 3, 4], k, ef)).Message);
    }

    [Fact]
    public void EmptyVectorIsRejected()
    {
        using var index = NewIndex();
        Assert.Contains("empty", Assert.Throws<ArgumentException>(() => index.Upsert(2, [])).Message);
    }

    [Fact]
    public void ABatchWithOneBadRowInsertsNothing()
    {
        using var index = NewIndex();
        float[] vectors = [1, 1, 1, 1, 2, 2, float.NaN, 2];
        var error = Assert.Throws<ArgumentException>(() => index.UpsertMany(vectors, new long[] { 10, 11 }));
        Assert.Contains("row 1", error.Message);
        Assert.Equal(1, index.Count);
    }
}
