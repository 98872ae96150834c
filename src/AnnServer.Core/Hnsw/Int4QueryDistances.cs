using System.Runtime.CompilerServices;
using AnnServer.Core.Distance;

namespace AnnServer.Core.Hnsw;

/// <summary>‖q − x‖² estimated from 4-bit codes (see <see cref="Int4Codes"/>); the query buffer comes from <see cref="Int4Codes.EncodeQuery"/>.</summary>
internal readonly unsafe struct Int4L2Query(GraphStorage storage, byte* queryBuffer) : IQueryDistance
{
    private readonly sbyte* _codes = Int8Codes.Codes(queryBuffer);
    private readonly float _scale = Int8Codes.Scale(queryBuffer);
    private readonly float _squaredNorm = Int8Codes.SquaredNorm(queryBuffer);
    private readonly float _scaledCodeSum = Int8Codes.Scale(queryBuffer) * Int4Codes.QueryCodeSum(queryBuffer, storage.Dimension);
    private readonly int _length = Int4Codes.PaddedLength(storage.Dimension);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Distance(int node)
    {
        byte* row = storage.CodeRow(node);
        int dot = Int4DotProductKernel.Compute(_codes, Int4Codes.Codes(row), _length);
        float queryDotApproximation = Int4Codes.Low(row) * _scaledCodeSum + _scale * Int4Codes.Step(row) * dot;
        return VectorMath.NaNAsInfinity(_squaredNorm + Int4Codes.L2Correction(row) - 2 * queryDotApproximation);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Prefetch(int node) => Int4Codes.PrefetchRow(storage, node);
}

/// <summary>1 − q·x estimated from 4-bit codes (inner product, and cosine on unit vectors).</summary>
internal readonly unsafe struct Int4InnerProductQuery(GraphStorage storage, byte* queryBuffer) : IQueryDistance
{
    private readonly sbyte* _codes = Int8Codes.Codes(queryBuffer);
    private readonly float _scale = Int8Codes.Scale(queryBuffer);
    private readonly float _scaledCodeSum = Int8Codes.Scale(queryBuffer) * Int4Codes.QueryCodeSum(queryBuffer, storage.Dimension);
    private readonly int _length = Int4Codes.PaddedLength(storage.Dimension);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Distance(int node)
    {
        byte* row = storage.CodeRow(node);
        int dot = Int4DotProductKernel.Compute(_codes, Int4Codes.Codes(row), _length);
        return VectorMath.NaNAsInfinity(1 - (Int4Codes.Low(row) * _scaledCodeSum + _scale * Int4Codes.Step(row) * dot));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Prefetch(int node) => Int4Codes.PrefetchRow(storage, node);
}
