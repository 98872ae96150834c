using AnnServer.Core.Distance;

namespace AnnServer.Core.Tests.Distance;

/// <summary>
/// Every kernel path against a double-precision reference. Unsupported paths are tested too: their methods must fall
/// back to a narrower path and still be right. <see cref="KernelEnvironmentTests"/> re-runs this class with the
/// wide instruction sets switched off, so the fallbacks are also exercised as the active path.
/// </summary>
public sealed unsafe class KernelAccuracyTests
{
    // float rounding over at most 4096 terms in our accumulation order stays far below this (worst case ~4e-6 for
    // the vector paths' 64-term lane chains); a wrong lane or a double-counted tail is off by whole terms.
    private const double RelativeTolerance = 1e-5;

    private delegate float Kernel(float* a, float* b, int dimension);

    public static TheoryData<KernelPath, int> PathsAndDimensions()
    {
        var data = new TheoryData<KernelPath, int>();
        foreach (KernelPath path in Enum.GetValues<KernelPath>())
        {
            foreach (int dimension in Dimensions())
            {
                data.Add(path, dimension);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(PathsAndDimensions))]
    public void SquaredL2MatchesDoubleReference(KernelPath path, int dimension)
    {
        var (a, b) = RandomPair(dimension, seed: dimension * 31 + (int)path);
        double expected = DoubleReference.SquaredL2(a, b);
        float actual = Run(SquaredL2(path), a, b, offset: 0);
        Assert.True(Math.Abs(actual - expected) <= RelativeTolerance * expected,
            $"{path} d={dimension}: got {actual}, reference {expected}");
    }

    [Theory]
    [MemberData(nameof(PathsAndDimensions))]
    public void DotProductMatchesDoubleReference(KernelPath path, int dimension)
    {
        var (a, b) = RandomPair(dimension, seed: dimension * 37 + (int)path);
        double expected = DoubleReference.Dot(a, b);
        float actual = Run(DotProduct(path), a, b, offset: 0);
        Assert.True(Math.Abs(actual - expected) <= RelativeTolerance * DoubleReference.DotMagnitude(a, b),
            $"{path} d={dimension}: got {actual}, reference {expected}");
    }

    [Theory]
    [MemberData(nameof(PathsAndDimensions))]
    public void UnalignedInputsGiveTheSameResultAsAligned(KernelPath path, int dimension)
    {
        var (a, b) = RandomPair(dimension, seed: dimension);
        for (int offset = 1; offset <= 15; offset++)
        {
            Assert.Equal(Run(SquaredL2(path), a, b, 0), Run(SquaredL2(path), a, b, offset));
            Assert.Equal(Run(DotProduct(path), a, b, 0), Run(DotProduct(path), a, b, offset));
        }
    }

    /// <summary>
    /// All-ones inputs make every sum exactly the dimension, so a tail element counted twice (overlapping last
    /// block) or dropped shows up as an exact mismatch.
    /// </summary>
    [Theory]
    [MemberData(nameof(PathsAndDimensions))]
    public void EveryElementIsCountedExactlyOnce(KernelPath path, int dimension)
    {
        float[] ones = Enumerable.Repeat(1f, dimension).ToArray();
        float[] zeros = new float[dimension];
        Assert.Equal(dimension, Run(SquaredL2(path), ones, zeros, 0));
        Assert.Equal(dimension, Run(DotProduct(path), ones, ones, 0));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(17)]
    [InlineData(128)]
    [InlineData(784)]
    public void ComputeIsTheActivePath(int dimension)
    {
        var (a, b) = RandomPair(dimension, seed: 5);
        KernelPath active = DistanceKernels.ActivePath;
        Assert.Equal(Run(SquaredL2(active), a, b, 0), Run(SquaredL2Kernel.Compute, a, b, 0));
        Assert.Equal(Run(DotProduct(active), a, b, 0), Run(DotProductKernel.Compute, a, b, 0));
    }

    [Fact]
    public void IdenticalVectorsAreAtSquaredL2DistanceZero()
    {
        var (a, _) = RandomPair(1536, seed: 9);
        foreach (KernelPath path in Enum.GetValues<KernelPath>())
        {
            Assert.Equal(0f, Run(SquaredL2(path), a, a, 0));
        }
    }

    internal static IEnumerable<int> Dimensions() =>
        Enumerable.Range(1, 70).Concat([128, 255, 256, 257, 784, 1536, 4096]);

    private static Kernel SquaredL2(KernelPath path) => path switch
    {
        KernelPath.Scalar => SquaredL2Kernel.Scalar,
        KernelPath.Vector128 => SquaredL2Kernel.Vector128Path,
        KernelPath.Vector256 => SquaredL2Kernel.Vector256Path,
        KernelPath.Vector512 => SquaredL2Kernel.Vector512Path,
        _ => throw new ArgumentOutOfRangeException(nameof(path)),
    };

    private static Kernel DotProduct(KernelPath path) => path switch
    {
        KernelPath.Scalar => DotProductKernel.Scalar,
        KernelPath.Vector128 => DotProductKernel.Vector128Path,
        KernelPath.Vector256 => DotProductKernel.Vector256Path,
        KernelPath.Vector512 => DotProductKernel.Vector512Path,
        _ => throw new ArgumentOutOfRangeException(nameof(path)),
    };

    /// <summary>
    /// Runs the kernel on copies of a and b placed <paramref name="offset"/> floats into buffers whose other floats
    /// are NaN, so a kernel that lets anything outside [0, dimension) into its sum returns NaN.
    /// </summary>
    private static float Run(Kernel kernel, float[] a, float[] b, int offset)
    {
        const int Guard = 16;
        float[] bufferA = new float[offset + a.Length + Guard];
        float[] bufferB = new float[offset + b.Length + Guard];
        Array.Fill(bufferA, float.NaN);
        Array.Fill(bufferB, float.NaN);
        a.CopyTo(bufferA, offset);
        b.CopyTo(bufferB, offset);
        fixed (float* pa = bufferA)
        fixed (float* pb = bufferB)
        {
            return kernel(pa + offset, pb + offset, a.Length);
        }
    }

    private static (float[] A, float[] B) RandomPair(int dimension, int seed)
    {
        var random = new Random(seed);
        float[] a = new float[dimension];
        float[] b = new float[dimension];
        for (int i = 0; i < dimension; i++)
        {
            a[i] = (float)(random.NextDouble() * 2 - 1);
            b[i] = (float)(random.NextDouble() * 2 - 1);
        }

        return (a, b);
    }
}
