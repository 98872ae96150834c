using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;
using AnnServer.Core.Distance;

namespace AnnServer.Core.Hnsw;

/// <summary>
/// The distance from one query to any node, as a struct type argument of the search loops: the JIT compiles one loop
/// per kind (float32, or int8 codes for L2 or inner product) and inlines the distance; no call through an interface.
/// </summary>
internal unsafe interface IQueryDistance
{
    float Distance(int node);

    /// <summary>Starts loading the node's vector into cache ahead of <see cref="Distance"/>.</summary>
    void Prefetch(int node);
}

internal readonly unsafe struct FloatQuery<TDistance>(GraphStorage storage, float* query) : IQueryDistance
    where TDistance : struct, IDistanceFunction
{
    private readonly int _dimension = storage.Dimension;

    // The whole row when it is short (up to 8 lines: 128-d), else the first line only: the hardware prefetcher follows
    // the rest once the distance reads it. Asking for 2, 4, 8 or all 49 lines of a 784-d vector measured 5-17 % slower
    // (interleaved runs, Fashion-MNIST, ef 14 and 40).
    private readonly int _prefetchBytes = storage.VectorRowBytes <= ShortRowBytes ? storage.VectorRowBytes : CacheLine;

    private const int CacheLine = 64;
    private const int ShortRowBytes = 8 * CacheLine;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Distance(int node) => TDistance.Compute(query, storage.Vector(node), _dimension);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Prefetch(int node)
    {
        if (!Sse.IsSupported) return;
        byte* row = (byte*)storage.Vector(node);
        for (int offset = 0; offset < _prefetchBytes; offset += CacheLine) Sse.Prefetch0(row + offset);
    }
}

/// <summary>‖q − x‖² from int8 codes (see <see cref="Int8Codes"/>); the query buffer comes from <see cref="Int8Codes.EncodeQuery"/>.</summary>
internal readonly unsafe struct Int8L2Query(GraphStorage storage, byte* queryRow) : IQueryDistance
{
    private readonly sbyte* _codes = Int8Codes.Codes(queryRow);
    private readonly byte* _magnitudes = Int8Codes.QueryMagnitudes(queryRow, storage.Dimension);
    private readonly float _scale = Int8Codes.Scale(queryRow);
    private readonly float _squaredNorm = Int8Codes.SquaredNorm(queryRow);
    private readonly int _length = Int8Codes.PaddedLength(storage.Dimension);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Distance(int node)
    {
        byte* row = storage.CodeRow(node);
        int dot = Int8DotProductKernel.ComputePrepared(_magnitudes, _codes, Int8Codes.Codes(row), _length);
        // ∞ − ∞ (norms that overflowed) is NaN: it counts as +∞, as in the float32 distances.
        return VectorMath.NaNAsInfinity(_squaredNorm + Int8Codes.SquaredNorm(row) - 2 * _scale * Int8Codes.Scale(row) * dot);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Prefetch(int node) => Int8Codes.PrefetchRow(storage, node);
}

/// <summary>1 − q·x from int8 codes (inner product, and cosine on unit vectors).</summary>
internal readonly unsafe struct Int8InnerProductQuery(GraphStorage storage, byte* queryRow) : IQueryDistance
{
    private readonly sbyte* _codes = Int8Codes.Codes(queryRow);
    private readonly byte* _magnitudes = Int8Codes.QueryMagnitudes(queryRow, storage.Dimension);
    private readonly float _scale = Int8Codes.Scale(queryRow);
    private readonly int _length = Int8Codes.PaddedLength(storage.Dimension);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Distance(int node)
    {
        byte* row = storage.CodeRow(node);
        return VectorMath.NaNAsInfinity(
            1 - _scale * Int8Codes.Scale(row) * Int8DotProductKernel.ComputePrepared(_magnitudes, _codes, Int8Codes.Codes(row), _length));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Prefetch(int node) => Int8Codes.PrefetchRow(storage, node);
}
