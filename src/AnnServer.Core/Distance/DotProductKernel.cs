using System.Runtime.CompilerServices;

namespace AnnServer.Core.Distance;

/// <summary>
/// Dot product, <c>sum a[i] * b[i]</c>, over raw float pointers: no bounds checks, no allocation.
/// Callers guarantee both pointers address at least <c>dimension</c> floats and <c>dimension &gt;= 1</c>.
/// </summary>
/// <remarks>
/// The loop, its shape and its timings are <see cref="PairwiseSum{TTerm}"/>'s; this class gives it its term and
/// the names the engine, the tests and the benchmarks call.
/// </remarks>
public static unsafe class DotProductKernel
{
    /// <summary>The dot product on <see cref="DistanceKernels.ActivePath"/>; the switch is folded by the JIT.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Compute(float* a, float* b, int dimension) => PairwiseSum<Term>.Compute(a, b, dimension);

    /// <summary>Scalar loop with four accumulators; the fallback when no vector width is accelerated.</summary>
    public static float Scalar(float* a, float* b, int dimension) => PairwiseSum<Term>.Scalar(a, b, dimension);

    /// <summary>128-bit path (4 floats per vector); scalar below 4 floats or without 128-bit acceleration.</summary>
    public static float Vector128Path(float* a, float* b, int dimension) => PairwiseSum<Term>.Vector128Path(a, b, dimension);

    /// <summary>256-bit path (8 floats per vector); the 128-bit path below 8 floats or without 256-bit acceleration.</summary>
    public static float Vector256Path(float* a, float* b, int dimension) => PairwiseSum<Term>.Vector256Path(a, b, dimension);

    /// <summary>512-bit path (16 floats per vector); the 256-bit path below 16 floats or without 512-bit acceleration.</summary>
    public static float Vector512Path(float* a, float* b, int dimension) => PairwiseSum<Term>.Vector512Path(a, b, dimension);

    /// <summary>a * b.</summary>
    private readonly struct Term : IPairwiseTerm
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Accumulate(float sum, float a, float b) => sum + a * b;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static TVector Accumulate<TWidth, TVector>(TVector sum, TVector a, TVector b)
            where TWidth : ISimdWidth<TVector>
            where TVector : struct =>
            TWidth.MultiplyAddEstimate(a, b, sum);

        /// <remarks>Masking one factor is enough: a dropped lane adds 0 * b.</remarks>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static TVector AccumulateLanes<TWidth, TVector>(TVector sum, TVector a, TVector b, TVector keep)
            where TWidth : ISimdWidth<TVector>
            where TVector : struct =>
            TWidth.MultiplyAddEstimate(TWidth.BitwiseAnd(a, keep), b, sum);
    }
}
