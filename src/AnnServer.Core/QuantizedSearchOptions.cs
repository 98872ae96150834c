namespace AnnServer.Core;

/// <summary>
/// How a search of a quantized index (<see cref="VectorQuantization.Int8"/>, <see cref="VectorQuantization.Int4"/>) ends
/// once the walk on the codes is done: whether the nearest results by their codes are re-ranked with exact float32
/// distances (<see cref="Rescore"/>), and how many of them (<see cref="Oversampling"/>). An index without codes ignores
/// it. The default value (<c>default</c>, <see cref="Default"/>) is the engine's own choice: re-rank the pool
/// Hnsw/RerankPool.cs sizes (2·k for int8, 10·k for int4, at least 16).
/// </summary>
/// <remarks>
/// Without the re-rank the hits' distances are the codes' estimates and the float32 vectors are not read at all (with
/// mapped snapshots they need not be resident): on Fashion-MNIST int8 (k 10) searches were 1.12× faster at ef 14 for
/// recall@10 0.9559 instead of 0.9603, and reach 0.9878 at ef 40 against 0.9945 (docs/api.md, `ann-bench recall --rescore`). A search that falls back
/// to the exact scan (a filter that lets few points through, a walk that came back short) still scores with float32.
/// Stored inverted (<see cref="_skipsRescore"/>, 0 for no oversampling) so that the zero value is the default: a request
/// that says nothing carries no options object, and a search allocates nothing for it.
/// </remarks>
public readonly record struct QuantizedSearchOptions
{
    /// <summary>Largest <see cref="Oversampling"/>: 100·k already re-ranks every result of any ef a search of that k
    /// is likely to run, and the bound keeps the pool (at most 100 × <see cref="HnswIndex.MaxEf"/>) within an int.</summary>
    public const float MaxOversampling = 100;

    private readonly bool _skipsRescore;
    private readonly float _oversampling;

    /// <param name="rescore">Re-rank with the float32 vectors (false: the hits carry the codes' distances).</param>
    /// <param name="oversampling">Re-rank the nearest ⌈oversampling · k⌉ results by their codes; null: the engine's pool.
    /// Finite, 1 to <see cref="MaxOversampling"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException">oversampling NaN, infinite, below 1 or above <see cref="MaxOversampling"/>.</exception>
    public QuantizedSearchOptions(bool rescore = true, float? oversampling = null)
    {
        if (oversampling is { } factor && !IsValidOversampling(factor))
            throw new ArgumentOutOfRangeException(nameof(oversampling), factor, $"oversampling must be finite, at least 1 and at most {MaxOversampling}");
        _skipsRescore = !rescore;
        _oversampling = oversampling ?? 0;
    }

    /// <summary>The engine's choice: re-rank its own pool.</summary>
    public static QuantizedSearchOptions Default => default;

    /// <summary>Whether the nearest results by their codes are re-ranked with the float32 vectors.</summary>
    public bool Rescore => !_skipsRescore;

    /// <summary>Results re-ranked per neighbour asked for (⌈oversampling · k⌉ in all); null: the engine's pool.</summary>
    public float? Oversampling => _oversampling == 0 ? null : _oversampling;

    /// <summary>Whether <paramref name="oversampling"/> is a factor the constructor takes (for callers that validate at
    /// their edge and name their own field).</summary>
    public static bool IsValidOversampling(float oversampling) => oversampling >= 1 && oversampling <= MaxOversampling;
}
