using AnnServer.Core.Distance;

namespace AnnServer.Core.Tests.Distance;

public sealed unsafe class DistanceFunctionTests
{
    [Fact]
    public void SquaredL2DistanceIsTheSquaredL2Kernel()
    {
        float[] a = [1, 2, 3, 4, 5];
        float[] b = [2, 0, 3, 8, 5];
        Assert.Equal(1f + 4f + 0f + 16f + 0f, Generic<SquaredL2Distance>(a, b));
    }

    [Fact]
    public void InnerProductDistanceIsOneMinusTheDotProduct()
    {
        float[] a = [1, 2, 3];
        float[] b = [4, -5, 6];
        Assert.Equal(1f - (4f - 10f + 18f), Generic<InnerProductDistance>(a, b));
    }

    [Fact]
    public void InnerProductDistanceOfUnitVectorsIsTheCosineDistance()
    {
        float[] a = [3, 4, 0, 0, 0, 0, 0, 0, 0, 1];
        float[] b = [-1, 2, 5, 0, 0, 0, 0, 0, 0, 2];
        double cosine = DoubleReference.Dot(a, b) / (DoubleReference.Norm(a) * DoubleReference.Norm(b));
        VectorMath.Normalize(a);
        VectorMath.Normalize(b);
        Assert.Equal(1 - cosine, Generic<InnerProductDistance>(a, b), 1e-6);
    }

    [Fact]
    public void SameDirectionIsAtInnerProductDistanceZero()
    {
        float[] a = [0.6f, 0.8f];
        Assert.Equal(0f, Generic<InnerProductDistance>(a, a), 1e-7f);
    }

    /// <summary>Calls through a constrained generic, the way the HNSW graph does.</summary>
    private static float Generic<TDistance>(float[] a, float[] b)
        where TDistance : struct, IDistanceFunction
    {
        fixed (float* pa = a)
        fixed (float* pb = b)
        {
            return TDistance.Compute(pa, pb, a.Length);
        }
    }
}
