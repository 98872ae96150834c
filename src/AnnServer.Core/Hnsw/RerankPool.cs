namespace AnnServer.Core.Hnsw;

/// <summary>
/// How many of a quantized search's results, nearest first by their codes, are re-ranked with the float32 vectors:
/// the rest are dropped unread. Each re-ranked result reads a float32 row the walk never touched (512 bytes at 128-d,
/// a miss from memory at catalogue scale), so re-ranking all ef of them cost more than the last steps of the walk.
/// </summary>
/// <remarks>
/// Measured on 1,000,000 × 128 clustered L2 (10,000 queries, k = 10, ef 10 to 384, renumbered breadth-first): with
/// int8 codes the true 10 nearest lie among the 15 nearest codes, so a pool of 2·k gives the recall of re-ranking all
/// ef to the fourth decimal at every ef; a pool of k lost 0.025 at ef 64. 4-bit codes err more: a pool of 2·k lost
/// 0.07 at ef 96, 8·k at most 0.0003, 10·k at most 0.0001. Fashion-MNIST (784-d) and 100,000 × 128 cosine lose nothing.
/// int8 searches at 1M: 1.13× the speed of re-ranking all ef at ef 48 and 64, 1.16× at ef 96, 1.31× at ef 192 (CPU time
/// per query, batches of 1,000 queries taking turns in one process, median of 15 pairs). Filtered two-hop walks re-rank
/// all ef (their caller counts them against ef). A request can size the pool itself, or skip the re-rank
/// (<see cref="QuantizedSearchOptions"/>).
/// </remarks>
internal static class RerankPool
{
    public const int Int8PerNeighbor = 2;
    public const int Int4PerNeighbor = 10;

    /// <summary>Results the walk leaves that the float32 re-rank reads, for <paramref name="k"/> neighbours asked for; all
    /// of them after a two-hop walk, whose caller counts its results against ef (a walk short of ef falls back to the scan).</summary>
    public static int For(VectorQuantization quantization, int k, bool twoHop) => twoHop ? int.MaxValue : quantization switch
    {
        VectorQuantization.Int8 => Math.Max(Int8PerNeighbor * k, MinimumPool),
        VectorQuantization.Int4 => Math.Max(Int4PerNeighbor * k, MinimumPool),
        _ => int.MaxValue,
    };

    /// <summary><see cref="For(VectorQuantization, int, bool)"/> as the request's options change it: <see cref="None"/>
    /// without the re-rank; ⌈oversampling · k⌉ when the request sizes the pool (a two-hop walk still re-ranks all).</summary>
    public static int For(QuantizedSearchOptions options, VectorQuantization quantization, int k, bool twoHop)
    {
        if (!options.Rescore) return None;
        if (twoHop || options.Oversampling is not { } oversampling) return For(quantization, k, twoHop);
        return Oversampled(oversampling, k);
    }

    /// <summary>⌈oversampling · k⌉, where a product within float rounding of a whole number is that number: the float
    /// nearest 1.1 is 1.10000002, and 1.1 × 10 must re-rank 11, not 12.</summary>
    internal static int Oversampled(float oversampling, int k)
    {
        double product = (double)oversampling * k;
        double whole = Math.Round(product);
        double pool = Math.Abs(product - whole) <= product * FloatRounding ? whole : Math.Ceiling(product);
        return (int)Math.Min(int.MaxValue, Math.Max(k, pool));
    }

    /// <summary>A few float32 ulps, relative: well above the error of a decimal factor stored as a float, well below any
    /// pool a caller could mean.</summary>
    private const double FloatRounding = 4.0 / (1 << 24);

    /// <summary>No re-rank: the walk's results stay with the codes' distances.</summary>
    public const int None = 0;

    /// <summary>A floor for small k, where a few ties or near-ties in the codes weigh more.</summary>
    public const int MinimumPool = 16;
}
