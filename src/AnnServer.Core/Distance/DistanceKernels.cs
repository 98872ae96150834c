using System.Runtime.Intrinsics;

namespace AnnServer.Core.Distance;

/// <summary>
/// Chooses, once per process, the widest kernel path the hardware accelerates. The kernels read
/// <see cref="ActivePath"/> from a static readonly field, which tier-1 JIT treats as a constant, so the
/// per-call switch on the path folds away (STYLE: choose once, never per call).
/// </summary>
public static class DistanceKernels
{
    // Vector512.IsHardwareAccelerated already honours DOTNET_PreferredVectorBitWidth and the
    // DOTNET_EnableAVX512F / EnableAVX2 / EnableHWIntrinsic switches, so the environment can force a narrower path.
    private static readonly KernelPath s_activePath =
        Vector512.IsHardwareAccelerated ? KernelPath.Vector512 :
        Vector256.IsHardwareAccelerated ? KernelPath.Vector256 :
        Vector128.IsHardwareAccelerated ? KernelPath.Vector128 :
        KernelPath.Scalar;

    /// <summary>The path <c>SquaredL2Kernel.Compute</c> and <c>DotProductKernel.Compute</c> use in this process.</summary>
    public static KernelPath ActivePath => s_activePath;

    /// <summary>
    /// Whether <paramref name="path"/> runs on hardware vectors here. An unsupported path's method still works:
    /// it falls back to the next narrower supported path.
    /// </summary>
    public static bool IsSupported(KernelPath path) => path switch
    {
        KernelPath.Scalar => true,
        KernelPath.Vector128 => Vector128.IsHardwareAccelerated,
        KernelPath.Vector256 => Vector256.IsHardwareAccelerated,
        KernelPath.Vector512 => Vector512.IsHardwareAccelerated,
        _ => false,
    };
}
