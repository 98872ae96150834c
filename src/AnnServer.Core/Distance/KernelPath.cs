namespace AnnServer.Core.Distance;

/// <summary>
/// The instruction width a distance kernel runs at. The numeric values are the order of preference
/// (wider is better) and are stable: benchmarks and logs print them.
/// </summary>
public enum KernelPath
{
    /// <summary>Plain scalar loop; always available.</summary>
    Scalar = 0,

    /// <summary>128-bit vectors (SSE / AdvSimd), 4 floats per operation.</summary>
    Vector128 = 1,

    /// <summary>256-bit vectors (AVX2), 8 floats per operation.</summary>
    Vector256 = 2,

    /// <summary>512-bit vectors (AVX-512F), 16 floats per operation.</summary>
    Vector512 = 3,
}
