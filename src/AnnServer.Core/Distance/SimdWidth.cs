using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace AnnServer.Core.Distance;

/// <summary>
/// One rung of the vector-width ladder: the few float operations the distance loop needs, over the vector type
/// <typeparamref name="TVector"/>. The loop (<see cref="PairwiseSum{TTerm}"/>) is generic over a struct implementing
/// this, so the JIT compiles one copy of it per width with every member inlined: a constrained call to a static
/// abstract member of a struct is a direct call, not interface dispatch.
/// </summary>
/// <remarks>
/// System.Runtime.Intrinsics has this abstraction as ISimdVector&lt;TSelf, T&gt;, but it is internal to CoreLib in
/// .NET 10 (absent from the reference assemblies), so we declare the part we use. The three implementations are kept
/// in this one file, against the one-type-per-file habit, so that they can be read against each other line by line.
/// </remarks>
internal unsafe interface ISimdWidth<TVector>
    where TVector : struct
{
    /// <summary>Floats per vector; a JIT-time constant.</summary>
    static abstract int Count { get; }

    /// <summary>Whether this width runs on hardware vectors in this process (honours the DOTNET_Enable* switches).</summary>
    static abstract bool IsHardwareAccelerated { get; }

    static abstract TVector Zero { get; }

    /// <summary>Loads <see cref="Count"/> floats from <paramref name="source"/>, which need not be aligned.</summary>
    static abstract TVector Load(float* source);

    static abstract TVector Add(TVector left, TVector right);

    static abstract TVector Subtract(TVector left, TVector right);

    static abstract TVector BitwiseAnd(TVector left, TVector right);

    /// <summary>
    /// <c>left * right + addend</c>: one FMA where the CPU has it, a multiply and an add where it has not
    /// (FusedMultiplyAdd would be emulated lane by lane there, e.g. under DOTNET_EnableAVX2=0). We need the speed,
    /// not the single rounding.
    /// </summary>
    static abstract TVector MultiplyAddEstimate(TVector left, TVector right, TVector addend);

    /// <summary>A mask with every bit set in the lanes at or above <paramref name="firstLane"/>, clear below it.</summary>
    static abstract TVector LanesFrom(int firstLane);

    /// <summary>The sum of all lanes.</summary>
    static abstract float Sum(TVector vector);
}

/// <summary>128-bit vectors: 4 floats (SSE, AdvSimd).</summary>
internal readonly unsafe struct Vector128Width : ISimdWidth<Vector128<float>>
{
    public static int Count => Vector128<float>.Count;

    public static bool IsHardwareAccelerated => Vector128.IsHardwareAccelerated;

    public static Vector128<float> Zero => Vector128<float>.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Load(float* source) => Vector128.Load(source);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Add(Vector128<float> left, Vector128<float> right) => left + right;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Subtract(Vector128<float> left, Vector128<float> right) => left - right;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> BitwiseAnd(Vector128<float> left, Vector128<float> right) => left & right;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> MultiplyAddEstimate(Vector128<float> left, Vector128<float> right, Vector128<float> addend) =>
        Vector128.MultiplyAddEstimate(left, right, addend);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> LanesFrom(int firstLane) =>
        Vector128.GreaterThanOrEqual(Vector128<int>.Indices, Vector128.Create(firstLane)).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(Vector128<float> vector) => Vector128.Sum(vector);
}

/// <summary>256-bit vectors: 8 floats (AVX2).</summary>
internal readonly unsafe struct Vector256Width : ISimdWidth<Vector256<float>>
{
    public static int Count => Vector256<float>.Count;

    public static bool IsHardwareAccelerated => Vector256.IsHardwareAccelerated;

    public static Vector256<float> Zero => Vector256<float>.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Load(float* source) => Vector256.Load(source);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Add(Vector256<float> left, Vector256<float> right) => left + right;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Subtract(Vector256<float> left, Vector256<float> right) => left - right;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> BitwiseAnd(Vector256<float> left, Vector256<float> right) => left & right;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> MultiplyAddEstimate(Vector256<float> left, Vector256<float> right, Vector256<float> addend) =>
        Vector256.MultiplyAddEstimate(left, right, addend);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> LanesFrom(int firstLane) =>
        Vector256.GreaterThanOrEqual(Vector256<int>.Indices, Vector256.Create(firstLane)).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(Vector256<float> vector) => Vector256.Sum(vector);
}

/// <summary>512-bit vectors: 16 floats (AVX-512F).</summary>
internal readonly unsafe struct Vector512Width : ISimdWidth<Vector512<float>>
{
    public static int Count => Vector512<float>.Count;

    public static bool IsHardwareAccelerated => Vector512.IsHardwareAccelerated;

    public static Vector512<float> Zero => Vector512<float>.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load(float* source) => Vector512.Load(source);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Add(Vector512<float> left, Vector512<float> right) => left + right;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Subtract(Vector512<float> left, Vector512<float> right) => left - right;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> BitwiseAnd(Vector512<float> left, Vector512<float> right) => left & right;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> MultiplyAddEstimate(Vector512<float> left, Vector512<float> right, Vector512<float> addend) =>
        Vector512.MultiplyAddEstimate(left, right, addend);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> LanesFrom(int firstLane) =>
        Vector512.GreaterThanOrEqual(Vector512<int>.Indices, Vector512.Create(firstLane)).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(Vector512<float> vector) => Vector512.Sum(vector);
}
