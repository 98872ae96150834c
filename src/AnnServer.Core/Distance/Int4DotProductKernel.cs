using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace AnnServer.Core.Distance;

/// <summary>
/// Σ q·u of an int8 query q and a vector's 4-bit codes u (0…15, two per byte), for the int4 search
/// (<see cref="Hnsw.Int4Codes"/>). Callers pad both with zeros to a multiple of <see cref="BlockLength"/> components, so
/// every path runs whole blocks and needs no remainder.
/// </summary>
/// <remarks>
/// Packing, per block of 128 components in 64 bytes: byte j holds component j in its low nibble and component 64 + j in
/// its high nibble. So one mask gives the first 64 components and one shift and mask the next 64, each lined up with a
/// contiguous run of the query, at every width (a 256-bit path takes bytes 0-31 against query 0-31 and 64-95, then
/// bytes 32-63 against 32-63 and 96-127); the query needs no reordering. The codes are unsigned, the query signed:
/// exactly the operand types of vpmaddubsw (u8·s8, pairs summed into int16: |15·127·2| = 3,810, no saturation) and of
/// VNNI's vpdpbusd (four products into an int32 lane, one instruction). .NET 10's public intrinsics have vpdpbusd at
/// 128/256 bits only (AvxVnni, the VEX form: false on AMD Zen 4, which has the EVEX AVX512-VNNI); at 512 bits the
/// AVX-512BW pair vpmaddubsw + vpmaddwd does the same work on twice the bytes, and runs first where it exists.
/// </remarks>
public static unsafe class Int4DotProductKernel
{
    /// <summary>Components per block: 64 bytes of codes.</summary>
    public const int BlockLength = 128;

    public const int BlockBytes = BlockLength / 2;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Compute(sbyte* query, byte* codes, int paddedLength)
    {
        if (Avx512BW.IsSupported) return Avx512Path(query, codes, paddedLength);
        if (AvxVnni.IsSupported) return VnniPath(query, codes, paddedLength);
        if (Avx2.IsSupported) return Avx2Path(query, codes, paddedLength);
        return Scalar(query, codes, paddedLength);
    }

    /// <summary>The reference: one component at a time, in the packing above.</summary>
    public static int Scalar(sbyte* query, byte* codes, int paddedLength)
    {
        int sum = 0;
        for (int block = 0; block < paddedLength; block += BlockLength)
        {
            byte* packed = codes + block / 2;
            for (int j = 0; j < BlockBytes; j++)
            {
                sum += query[block + j] * (packed[j] & 0x0F);
                sum += query[block + BlockBytes + j] * (packed[j] >> 4);
            }
        }
        return sum;
    }

    public static int Avx512Path(sbyte* query, byte* codes, int paddedLength)
    {
        if (!Avx512BW.IsSupported) return Avx2Path(query, codes, paddedLength);
        Vector512<byte> lowNibbles = Vector512.Create((byte)0x0F);
        Vector512<short> ones = Vector512.Create((short)1);
        Vector512<int> sum = Vector512<int>.Zero;
        for (int block = 0; block < paddedLength; block += BlockLength)
        {
            Vector512<byte> packed = Vector512.Load(codes + block / 2);
            Vector512<byte> low = packed & lowNibbles;
            Vector512<byte> high = Vector512.ShiftRightLogical(packed.AsUInt16(), 4).AsByte() & lowNibbles;
            Vector512<short> pairs = Avx512BW.MultiplyAddAdjacent(low, Vector512.Load(query + block))
                                     + Avx512BW.MultiplyAddAdjacent(high, Vector512.Load(query + block + BlockBytes));
            sum += Avx512BW.MultiplyAddAdjacent(pairs, ones);
        }
        return Vector512.Sum(sum);
    }

    public static int VnniPath(sbyte* query, byte* codes, int paddedLength)
    {
        if (!AvxVnni.IsSupported) return Avx2Path(query, codes, paddedLength);
        Vector256<byte> lowNibbles = Vector256.Create((byte)0x0F);
        Vector256<int> sum0 = Vector256<int>.Zero, sum1 = sum0;
        for (int block = 0; block < paddedLength; block += BlockLength)
        {
            byte* packed = codes + block / 2;
            sbyte* q = query + block;
            Vector256<byte> first = Vector256.Load(packed), second = Vector256.Load(packed + 32);
            sum0 = AvxVnni.MultiplyWideningAndAdd(sum0, first & lowNibbles, Vector256.Load(q));
            sum1 = AvxVnni.MultiplyWideningAndAdd(sum1, Vector256.ShiftRightLogical(first.AsUInt16(), 4).AsByte() & lowNibbles, Vector256.Load(q + 64));
            sum0 = AvxVnni.MultiplyWideningAndAdd(sum0, second & lowNibbles, Vector256.Load(q + 32));
            sum1 = AvxVnni.MultiplyWideningAndAdd(sum1, Vector256.ShiftRightLogical(second.AsUInt16(), 4).AsByte() & lowNibbles, Vector256.Load(q + 96));
        }
        return Vector256.Sum(sum0 + sum1);
    }

    public static int Avx2Path(sbyte* query, byte* codes, int paddedLength)
    {
        if (!Avx2.IsSupported) return Scalar(query, codes, paddedLength);
        Vector256<byte> lowNibbles = Vector256.Create((byte)0x0F);
        Vector256<short> ones = Vector256.Create((short)1);
        Vector256<int> sum = Vector256<int>.Zero;
        for (int block = 0; block < paddedLength; block += BlockLength)
        {
            byte* packed = codes + block / 2;
            sbyte* q = query + block;
            Vector256<byte> first = Vector256.Load(packed), second = Vector256.Load(packed + 32);
            Vector256<short> pairs = Avx2.MultiplyAddAdjacent(first & lowNibbles, Vector256.Load(q))
                                     + Avx2.MultiplyAddAdjacent(Vector256.ShiftRightLogical(first.AsUInt16(), 4).AsByte() & lowNibbles, Vector256.Load(q + 64))
                                     + Avx2.MultiplyAddAdjacent(second & lowNibbles, Vector256.Load(q + 32))
                                     + Avx2.MultiplyAddAdjacent(Vector256.ShiftRightLogical(second.AsUInt16(), 4).AsByte() & lowNibbles, Vector256.Load(q + 96));
            sum += Avx2.MultiplyAddAdjacent(pairs, ones);
        }
        return Vector256.Sum(sum);
    }
}
