using System.Runtime.CompilerServices;
using AnnServer.Core.Distance;

namespace AnnServer.Core.Hnsw;

/// <summary>
/// 4-bit scalar quantization with one range per vector, the row that holds one quantized vector, and the query buffer
/// the search compares rows against.
/// </summary>
/// <remarks>
/// Row layout (<see cref="RowBytes"/> long, packed back to back: 76 bytes at 128-d, 0.148× the float32 row):
/// <code>
///   0  float32  low  l = min(v)
///   4  float32  step s = (max(v) − l) / 15: the vector is approximately x̂ = l + s·u
///   8  float32  ‖x̂‖² − ‖x̂ − v‖², the L2 correction (below)
///  12  u4[d]    u = round((v − l) / s), two per byte as Int4DotProductKernel packs them, zeros up to a multiple of 128
/// </code>
/// Why this code rather than RaBitQ's 1 bit: the codes steer the graph walk, whose pool of ef best estimates is what
/// the float32 re-rank draws from. At 128 dimensions one bit per component leaves an error of about 1/√d of the norm in
/// every estimate, and even a flat scan then needs a re-rank pool several times int4's for the same recall
/// (bench/compact_codes_flat_scan.py, bench/results/compact-codes.md); in the graph that pool is ef, paid for in visits.
/// Four bits keep the estimate within a few percent, so the walk reaches int8's recall at about the same ef. A range
/// per vector (no training, inserts keep arriving), no rotation: the range adapts to each vector's offset, and the L2
/// estimate below does not need the error spread evenly.
/// <para>
/// L2 estimate: ‖q − x̂‖² = ‖q − v‖² − 2⟨q − v, e⟩ + ‖e‖² with e = x̂ − v. The ‖e‖² term is a bias that differs from
/// vector to vector (it would rank finely quantized vectors ahead); the row stores ‖x̂‖² − ‖e‖², so the estimate
/// ‖q‖² + (‖x̂‖² − ‖e‖²) − 2⟨q, x̂⟩ = ‖q − v‖² − 2⟨q − v, e⟩ has an error proportional to the distance itself: small for
/// the near neighbours the walk must order. Inner product: 1 − ⟨q, x̂⟩. The query is int8 (<see cref="Int8Codes"/>):
/// ⟨q, x̂⟩ = s_q·(l·Σq + s·Σ q·u), one kernel call and two multiplies per distance.
/// </para>
/// </remarks>
internal static unsafe class Int4Codes
{
    public const int HeaderBytes = 12;
    public const int MaxCode = 15;

    /// <summary>Components rounded up to whole kernel blocks.</summary>
    public static int PaddedLength(int dimension) =>
        (dimension + Int4DotProductKernel.BlockLength - 1) / Int4DotProductKernel.BlockLength * Int4DotProductKernel.BlockLength;

    public static int RowBytes(int dimension) => HeaderBytes + PaddedLength(dimension) / 2;

    /// <summary>Quantizes <paramref name="vector"/> into <paramref name="row"/> (which must be RowBytes long).</summary>
    public static void Encode(float* vector, int dimension, byte* row)
    {
        float low = float.PositiveInfinity, high = float.NegativeInfinity;
        for (int i = 0; i < dimension; i++)
        {
            low = MathF.Min(low, vector[i]);
            high = MathF.Max(high, vector[i]);
        }
        float step = (high - low) / MaxCode;
        // A constant vector (or one too wide for float32 steps) is all low: every code 0.
        float inverse = step > 0 && float.IsFinite(step) ? 1 / step : 0;
        byte* codes = row + HeaderBytes;
        new Span<byte>(codes, PaddedLength(dimension) / 2).Clear();
        double approximationNorm = 0, errorNorm = 0;
        for (int i = 0; i < dimension; i++)
        {
            int code = Math.Clamp((int)MathF.Round((vector[i] - low) * inverse), 0, MaxCode);
            int block = i / Int4DotProductKernel.BlockLength * Int4DotProductKernel.BlockBytes;
            int within = i % Int4DotProductKernel.BlockLength;
            if (within < Int4DotProductKernel.BlockBytes) codes[block + within] |= (byte)code;
            else codes[block + within - Int4DotProductKernel.BlockBytes] |= (byte)(code << 4);
            double approximation = low + (double)step * code;
            approximationNorm += approximation * approximation;
            errorNorm += (approximation - vector[i]) * (approximation - vector[i]);
        }
        *(float*)row = low;
        *(float*)(row + 4) = step;
        *(float*)(row + 8) = (float)(approximationNorm - errorNorm);
    }

    /// <summary>Bytes of a prepared query: the int8 row (scale, squared norm, codes padded to whole int4 blocks), then Σq.</summary>
    public static int QueryBytes(int dimension) => Math.Max(Int8Codes.RowBytes(dimension), Int8Codes.HeaderBytes + PaddedLength(dimension)) + sizeof(int);

    /// <summary>Quantizes a query into <paramref name="buffer"/> (<see cref="QueryBytes"/> long).</summary>
    public static void EncodeQuery(float* query, int dimension, byte* buffer)
    {
        Int8Codes.Encode(query, dimension, buffer);
        sbyte* codes = Int8Codes.Codes(buffer);
        int padded = PaddedLength(dimension);
        new Span<sbyte>(codes + dimension, padded - dimension).Clear();
        int sum = 0;
        for (int i = 0; i < dimension; i++) sum += codes[i];
        *(int*)(buffer + QueryBytes(dimension) - sizeof(int)) = sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int QueryCodeSum(byte* queryBuffer, int dimension) => *(int*)(queryBuffer + QueryBytes(dimension) - sizeof(int));

    /// <summary>Asks for every cache line the row touches: 76 bytes at 128-d start anywhere in a line and span two or three.
    /// Into L2 (prefetcht1), as <see cref="FloatQuery{TDistance}.Prefetch"/> explains: against prefetcht0, 1.37× / 1.29×
    /// the speed at ef 14 / 40 on Fashion-MNIST (404-byte rows), 1.06× / 1.02× / 1.01× at ef 48 / 64 / 96 on 1M × 128
    /// (medians of 13 in-process pairs).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void PrefetchRow(GraphStorage storage, int node)
    {
        if (!System.Runtime.Intrinsics.X86.Sse.IsSupported) return;
        byte* row = storage.CodeRow(node);
        int bytes = storage.Codes!.RowBytes;
        for (int offset = 0; offset < bytes; offset += 64) System.Runtime.Intrinsics.X86.Sse.Prefetch1(row + offset);
        System.Runtime.Intrinsics.X86.Sse.Prefetch1(row + bytes - 1);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Low(byte* row) => *(float*)row;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Step(byte* row) => *(float*)(row + 4);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float L2Correction(byte* row) => *(float*)(row + 8);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte* Codes(byte* row) => row + HeaderBytes;
}
