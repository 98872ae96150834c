using AnnServer.Core.Distance;

namespace AnnServer.Core.Tests.Distance;

public sealed class VectorMathTests
{
    public static TheoryData<int> SomeDimensions() => [1, 2, 3, 7, 16, 17, 31, 128, 257, 784, 1536, 4096];

    [Theory]
    [MemberData(nameof(SomeDimensions))]
    public void NormalizeGivesUnitLengthAndKeepsDirection(int dimension)
    {
        var random = new Random(dimension);
        float[] original = new float[dimension];
        for (int i = 0; i < dimension; i++)
        {
            original[i] = (float)(random.NextDouble() * 20 - 10);
        }

        float[] v = (float[])original.Clone();
        VectorMath.Normalize(v);

        double norm = DoubleReference.Norm(original);
        Assert.Equal(1.0, DoubleReference.Norm(v), 1e-5);
        for (int i = 0; i < dimension; i++)
        {
            Assert.Equal(original[i] / norm, v[i], 1e-6);
        }
    }

    [Theory]
    [MemberData(nameof(SomeDimensions))]
    public void NormalizeLeavesZeroVectorsZero(int dimension)
    {
        float[] v = new float[dimension];
        VectorMath.Normalize(v);
        Assert.All(v, x => Assert.Equal(0f, x));
    }

    [Fact]
    public void NormalizeAcceptsAnEmptyVector() => VectorMath.Normalize(Span<float>.Empty);

    [Theory]
    [InlineData(1e30f)]
    [InlineData(-3e38f)]
    [InlineData(1e-30f)]
    [InlineData(float.Epsilon)]
    public void NormalizeHandlesComponentsWhoseSquaresOverflowOrUnderflow(float scale)
    {
        float[] v = [scale, scale, 0, scale];
        VectorMath.Normalize(v);
        float expected = MathF.Sign(scale) / MathF.Sqrt(3);
        Assert.Equal(expected, v[0], 1e-6f);
        Assert.Equal(0f, v[2]);
        Assert.Equal(expected, v[3], 1e-6f);
    }

    [Theory]
    [MemberData(nameof(AllFiniteDimensions))]
    public void AllFiniteFindsNanAndInfinityAtEveryPosition(int dimension)
    {
        float[] v = new float[dimension];
        for (int i = 0; i < dimension; i++)
        {
            v[i] = i * 0.5f - 3;
        }

        Assert.True(VectorMath.AllFinite(v));
        foreach (float bad in new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity })
        {
            for (int position = 0; position < dimension; position++)
            {
                float saved = v[position];
                v[position] = bad;
                Assert.False(VectorMath.AllFinite(v), $"{bad} at {position} of {dimension} not found");
                v[position] = saved;
            }
        }
    }

    [Fact]
    public void AllFiniteAcceptsExtremeFiniteValues()
    {
        float[] v = [float.MaxValue, float.MinValue, float.Epsilon, -0f, 0f, 1e-40f, -float.Epsilon];
        Assert.True(VectorMath.AllFinite(v));
    }

    [Fact]
    public void AllFiniteOfAnEmptyVectorIsTrue() => Assert.True(VectorMath.AllFinite(ReadOnlySpan<float>.Empty));

    public static TheoryData<int> AllFiniteDimensions() =>
        new(Enumerable.Range(1, 70).Concat([128, 255, 256, 257, 784, 1536]));
}
