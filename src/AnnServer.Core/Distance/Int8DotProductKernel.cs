using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace AnnServer.Core.Distance;

/// <summary>
/// Dot product of two int8 code vectors into an int32, for the quantized search. Callers pad codes with zeros to a
/// multiple of <see cref="BlockLength"/>, so every path runs whole blocks and needs no remainder.
/// </summary>
/// <remarks>
/// Each 32-byte block is sign-extended to 32 int16 (vpmovsxbw) and multiplied pairwise with vpmaddwd, which sums
/// adjacent products into int32 lanes: exact, since |127·127·2| fits easily, and it needs only AVX-512BW (or AVX2 at
/// half the width), not VNNI. The sum over 4096 components stays below 2^27.
/// </remarks>
public static unsafe class Int8DotProductKernel
{
    public const int BlockLength = 32;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Compute(sbyte* a, sbyte* b, int paddedLength)
    {
        if (Avx512BW.IsSupported) return Avx512Path(a, b, paddedLength);
        if (Avx2.IsSupported) return Avx2Path(a, b, paddedLength);
        return Scalar(a, b, paddedLength);
    }

    /// <summary>
    /// Σ q·x for a query prepared once per search: its codes q and their magnitudes |q| as unsigned bytes.
    /// </summary>
    /// <remarks>
    /// AVX-VNNI's vpdpbusd multiplies 32 unsigned bytes by 32 signed bytes and adds each group of four products into an
    /// int32 lane, in one instruction; it needs one operand unsigned, so q·x is computed as |q|·(sign(q)·x), vpsignb
    /// moving q's signs onto x. Two instructions per 32 components instead of four (widen both sides, multiply-add, add),
    /// exact, and no saturation (the non-saturating form; |q|·|x| ≤ 127·127). Four accumulators hide vpdpbusd's latency.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int ComputePrepared(byte* queryMagnitudes, sbyte* query, sbyte* x, int paddedLength)
    {
        if (AvxVnni.IsSupported) return VnniPath(queryMagnitudes, query, x, paddedLength);
        return Compute(query, x, paddedLength);
    }

    public static int VnniPath(byte* queryMagnitudes, sbyte* query, sbyte* x, int paddedLength)
    {
        if (!AvxVnni.IsSupported) return Compute(query, x, paddedLength);
        Vector256<int> acc0 = Vector256<int>.Zero, acc1 = acc0, acc2 = acc0, acc3 = acc0;
        int i = 0;
        for (; i + 4 * BlockLength <= paddedLength; i += 4 * BlockLength)
        {
            acc0 = SignedBlock(acc0, queryMagnitudes, query, x, i);
            acc1 = SignedBlock(acc1, queryMagnitudes, query, x, i + BlockLength);
            acc2 = SignedBlock(acc2, queryMagnitudes, query, x, i + 2 * BlockLength);
            acc3 = SignedBlock(acc3, queryMagnitudes, query, x, i + 3 * BlockLength);
        }
        for (; i < paddedLength; i += BlockLength)
            acc0 = SignedBlock(acc0, queryMagnitudes, query, x, i);
        return Vector256.Sum((acc0 + acc1) + (acc2 + acc3));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> SignedBlock(Vector256<int> accumulator, byte* queryMagnitudes, sbyte* query, sbyte* x, int offset)
    {
        Vector256<sbyte> signedX = Avx2.Sign(Vector256.Load(x + offset), Vector256.Load(query + offset));
        return AvxVnni.MultiplyWideningAndAdd(accumulator, Vector256.Load(queryMagnitudes + offset), signedX);
    }

    public static int Scalar(sbyte* a, sbyte* b, int length)
    {
        int sum = 0;
        for (int i = 0; i < length; i++) sum += a[i] * b[i];
        return sum;
    }

    public static int Avx512Path(sbyte* a, sbyte* b, int paddedLength)
    {
        if (!Avx512BW.IsSupported) return Avx2Path(a, b, paddedLength);
        Vector512<int> acc0 = Vector512<int>.Zero, acc1 = acc0;
        int i = 0;
        for (; i + 2 * BlockLength <= paddedLength; i += 2 * BlockLength)
        {
            Vector512<short> a0 = Avx512BW.ConvertToVector512Int16(Vector256.Load(a + i));
            Vector512<short> b0 = Avx512BW.ConvertToVector512Int16(Vector256.Load(b + i));
            Vector512<short> a1 = Avx512BW.ConvertToVector512Int16(Vector256.Load(a + i + BlockLength));
            Vector512<short> b1 = Avx512BW.ConvertToVector512Int16(Vector256.Load(b + i + BlockLength));
            acc0 += Avx512BW.MultiplyAddAdjacent(a0, b0);
            acc1 += Avx512BW.MultiplyAddAdjacent(a1, b1);
        }
        if (i < paddedLength)
        {
            Vector512<short> a0 = Avx512BW.ConvertToVector512Int16(Vector256.Load(a + i));
            Vector512<short> b0 = Avx512BW.ConvertToVector512Int16(Vector256.Load(b + i));
            acc0 += Avx512BW.MultiplyAddAdjacent(a0, b0);
        }
        return Vector512.Sum(acc0 + acc1);
    }

    public static int Avx2Path(sbyte* a, sbyte* b, int paddedLength)
    {
        if (!Avx2.IsSupported) return Scalar(a, b, paddedLength);
        Vector256<int> acc0 = Vector256<int>.Zero, acc1 = acc0;
        for (int i = 0; i < paddedLength; i += BlockLength)
        {
            Vector256<short> a0 = Avx2.ConvertToVector256Int16(Vector128.Load(a + i));
            Vector256<short> b0 = Avx2.ConvertToVector256Int16(Vector128.Load(b + i));
            Vector256<short> a1 = Avx2.ConvertToVector256Int16(Vector128.Load(a + i + 16));
            Vector256<short> b1 = Avx2.ConvertToVector256Int16(Vector128.Load(b + i + 16));
            acc0 += Avx2.MultiplyAddAdjacent(a0, b0);
            acc1 += Avx2.MultiplyAddAdjacent(a1, b1);
        }
        return Vector256.Sum(acc0 + acc1);
    }
}
