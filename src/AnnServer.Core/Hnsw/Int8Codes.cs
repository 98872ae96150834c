using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace AnnServer.Core.Hnsw;

/// <summary>
/// int8 scalar quantization with one scale per vector, and the row that holds one quantized vector.
/// </summary>
/// <remarks>
/// Row layout (<see cref="RowBytes"/> long, rows packed one after the other in memory):
/// <code>
///   0  float32  scale s: the vector is approximately s · codes
///   4  float32  s² · Σ codes², the squared norm of that approximation (saves a pass per distance)
///   8  int8[d]  codes = round(v / s), with s = max|v| / 127, then zeros up to a multiple of 32 components
/// </code>
/// Rows are not padded to a cache line in memory: at 128 dimensions a row is 136 bytes, and padding it to 192 made the
/// codes, the whole point of quantizing, a third larger (a walk touches three cache lines of a row either way). Snapshots
/// keep the padded layout of format version 2 (<see cref="FileRowBytes"/>), so files are unchanged; a load and a save
/// restride the rows.
/// Why per vector and symmetric: it needs no training pass over the data (inserts keep arriving), a vector of small norm
/// keeps its full 8 bits of resolution, and the distance from a query is one int8 dot product plus two scales:
/// ‖q − x‖² ≈ s_q²Σq² + s_x²Σx² − 2 s_q s_x (q·x), and 1 − q·x ≈ 1 − s_q s_x (q·x). The codes are only used to walk the
/// graph; the candidates are re-ranked with the float32 vectors, so the rounding error costs little recall.
/// </remarks>
internal static unsafe class Int8Codes
{
    public const int HeaderBytes = 8;

    /// <summary>Components rounded up to whole kernel blocks.</summary>
    public static int PaddedLength(int dimension) =>
        (dimension + Distance.Int8DotProductKernel.BlockLength - 1) / Distance.Int8DotProductKernel.BlockLength * Distance.Int8DotProductKernel.BlockLength;

    public static int RowBytes(int dimension) => HeaderBytes + PaddedLength(dimension);

    /// <summary>A row in a snapshot's QuantizedVectors section: <see cref="RowBytes"/> padded with zeros to a multiple of 64.</summary>
    public static int FileRowBytes(int dimension) => (RowBytes(dimension) + 63) / 64 * 64;

    /// <summary>Quantizes <paramref name="vector"/> into <paramref name="row"/> (which must be RowBytes long).</summary>
    public static void Encode(float* vector, int dimension, byte* row)
    {
        float maxMagnitude = MathF.Abs(TensorPrimitives.MaxMagnitude(new ReadOnlySpan<float>(vector, dimension)));
        float scale = maxMagnitude / 127f;
        sbyte* codes = (sbyte*)(row + HeaderBytes);
        long sumOfSquares = 0;
        float inverse = scale == 0 ? 0 : 1 / scale;
        int i = 0;
        // Every query is encoded before its search: at 30,000 int8 queries/s the scalar loop below was several percent
        // of the query. Same rounding (to nearest, ties to even) and clamping as the scalar loop, so the codes agree.
        if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> scaleBy = Vector256.Create(inverse);
            Vector256<int> low = Vector256.Create(-127), high = Vector256.Create(127), squares = Vector256<int>.Zero;
            for (; i + 32 <= dimension; i += 32)
            {
                Vector256<int> c0 = CodeBlock(vector + i, scaleBy, low, high);
                Vector256<int> c1 = CodeBlock(vector + i + 8, scaleBy, low, high);
                Vector256<int> c2 = CodeBlock(vector + i + 16, scaleBy, low, high);
                Vector256<int> c3 = CodeBlock(vector + i + 24, scaleBy, low, high);
                squares += c0 * c0 + c1 * c1 + c2 * c2 + c3 * c3;
                Vector256.Narrow(Vector256.Narrow(c0, c1), Vector256.Narrow(c2, c3)).Store(codes + i);
            }
            sumOfSquares = Vector256.Sum(squares);
        }
        for (; i < dimension; i++)
        {
            int code = (int)MathF.Round(vector[i] * inverse);
            code = Math.Clamp(code, -127, 127);
            codes[i] = (sbyte)code;
            sumOfSquares += code * code;
        }
        new Span<byte>(codes + dimension, RowBytes(dimension) - HeaderBytes - dimension).Clear();
        *(float*)row = scale;
        *(float*)(row + 4) = scale * scale * sumOfSquares;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> CodeBlock(float* values, Vector256<float> scaleBy, Vector256<int> low, Vector256<int> high) =>
        Vector256.Clamp(Vector256.ConvertToInt32(Vector256.Round(Vector256.Load(values) * scaleBy)), low, high);

    /// <summary>Bytes of a prepared query: its row, then the magnitudes of its codes as unsigned bytes (padded like the
    /// codes), which the VNNI kernel multiplies by the stored codes (<see cref="Distance.Int8DotProductKernel.ComputePrepared"/>).</summary>
    public static int QueryBytes(int dimension) => RowBytes(dimension) + PaddedLength(dimension);

    /// <summary>Quantizes a query into <paramref name="buffer"/> (<see cref="QueryBytes"/> long): its row, then |codes|.</summary>
    public static void EncodeQuery(float* query, int dimension, byte* buffer)
    {
        Encode(query, dimension, buffer);
        sbyte* codes = Codes(buffer);
        byte* magnitudes = QueryMagnitudes(buffer, dimension);
        int length = PaddedLength(dimension);
        for (int i = 0; i < length; i += Distance.Int8DotProductKernel.BlockLength)
            Vector256.Abs(Vector256.Load(codes + i)).AsByte().Store(magnitudes + i);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte* QueryMagnitudes(byte* queryBuffer, int dimension) => queryBuffer + RowBytes(dimension);

    /// <summary>Asks for every cache line a node's code row touches (rows are packed, so one may start mid-line): a row is
    /// short enough (13 lines at 784-d) that fetching it all while the previous neighbour is computed beats waiting for
    /// the hardware prefetcher to follow the first line (1, 2, 4 lines measured 25-45 % slower, interleaved runs on
    /// Fashion-MNIST at ef 14 and 40). Into L2 (prefetcht1), as <see cref="FloatQuery{TDistance}.Prefetch"/> explains:
    /// 1.07× / 1.07× / 1.05× the prefetcht0 speed at ef 48 / 64 / 96 on 1M × 128, 1.70× / 1.62× at ef 14 / 40 on
    /// Fashion-MNIST (13 lines a row; medians of 13 in-process pairs).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void PrefetchRow(GraphStorage storage, int node)
    {
        if (!System.Runtime.Intrinsics.X86.Sse.IsSupported) return;
        byte* row = storage.CodeRow(node);
        byte* last = row + storage.Codes!.RowBytes - 1;
        for (byte* line = (byte*)((nint)row & ~(nint)63); line <= last; line += 64) System.Runtime.Intrinsics.X86.Sse.Prefetch1(line);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Scale(byte* row) => *(float*)row;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float SquaredNorm(byte* row) => *(float*)(row + 4);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static sbyte* Codes(byte* row) => (sbyte*)(row + HeaderBytes);
}
