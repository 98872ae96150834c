using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using AnnServer.Core.Distance;

namespace AnnServer.Core.Tests.Distance;

/// <summary>
/// The three rungs of the width ladder against their contract, one width at a time. The kernel tests
/// (<see cref="KernelAccuracyTests"/>) cover them through the loop; these say which member is wrong when one is.
/// </summary>
public sealed unsafe class SimdWidthTests
{
    [Fact]
    public void CountIsTheNumberOfFloatsInTheVector()
    {
        Assert.Equal(4, Vector128Width.Count);
        Assert.Equal(8, Vector256Width.Count);
        Assert.Equal(16, Vector512Width.Count);
    }

    [Fact]
    public void LanesFromSetsEveryBitOfTheLanesAtOrAboveTheFirstAndNoneBelow()
    {
        AssertLanesFrom<Vector128Width, Vector128<float>>();
        AssertLanesFrom<Vector256Width, Vector256<float>>();
        AssertLanesFrom<Vector512Width, Vector512<float>>();
    }

    [Fact]
    public void SumAddsEveryLaneOfAnUnalignedLoad()
    {
        AssertSumOfLoad<Vector128Width, Vector128<float>>();
        AssertSumOfLoad<Vector256Width, Vector256<float>>();
        AssertSumOfLoad<Vector512Width, Vector512<float>>();
    }

    private static void AssertLanesFrom<TWidth, TVector>()
        where TWidth : ISimdWidth<TVector>
        where TVector : struct
    {
        for (int first = 0; first <= TWidth.Count; first++)
        {
            TVector mask = TWidth.LanesFrom(first);
            for (int lane = 0; lane < TWidth.Count; lane++)
            {
                int bits = BitConverter.SingleToInt32Bits(Unsafe.Add(ref Unsafe.As<TVector, float>(ref mask), lane));
                Assert.True(bits == (lane >= first ? -1 : 0), $"{typeof(TWidth).Name}.LanesFrom({first}), lane {lane}: {bits:X8}");
            }
        }
    }

    private static void AssertSumOfLoad<TWidth, TVector>()
        where TWidth : ISimdWidth<TVector>
        where TVector : struct
    {
        // Lanes 1, 2, ..., Count, loaded one float into the array (so never vector-aligned): small integers, an exact sum.
        float[] values = Enumerable.Range(0, TWidth.Count + 16).Select(i => (float)i).ToArray();
        fixed (float* p = values)
        {
            Assert.Equal(TWidth.Count * (TWidth.Count + 1) / 2, TWidth.Sum(TWidth.Load(p + 1)));
        }
    }
}
