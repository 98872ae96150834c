using System.Runtime.Intrinsics;
using AnnServer.Core.Distance;

namespace AnnServer.Core.Tests.Distance;

public sealed class DistanceKernelsTests
{
    [Fact]
    public void ActivePathIsTheWidestSupportedPath()
    {
        KernelPath widest = Enum.GetValues<KernelPath>().Where(DistanceKernels.IsSupported).Max();
        Assert.Equal(widest, DistanceKernels.ActivePath);
    }

    [Fact]
    public void ScalarIsAlwaysSupported() => Assert.True(DistanceKernels.IsSupported(KernelPath.Scalar));

    [Fact]
    public void SupportFollowsHardwareAcceleration()
    {
        Assert.Equal(Vector128.IsHardwareAccelerated, DistanceKernels.IsSupported(KernelPath.Vector128));
        Assert.Equal(Vector256.IsHardwareAccelerated, DistanceKernels.IsSupported(KernelPath.Vector256));
        Assert.Equal(Vector512.IsHardwareAccelerated, DistanceKernels.IsSupported(KernelPath.Vector512));
    }

    [Fact]
    public void UnknownPathIsNotSupported() => Assert.False(DistanceKernels.IsSupported((KernelPath)42));

    [Fact]
    public void PathNumbersAreStable()
    {
        Assert.Equal(0, (int)KernelPath.Scalar);
        Assert.Equal(1, (int)KernelPath.Vector128);
        Assert.Equal(2, (int)KernelPath.Vector256);
        Assert.Equal(3, (int)KernelPath.Vector512);
    }
}
