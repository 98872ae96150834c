namespace AnnServer.Cluster.Routing;

/// <summary>
/// The latencies of a shard's last <see cref="Capacity"/> answered searches, and their 95th percentile: the delay after
/// which the router hedges a search to a second replica. The percentile is recomputed every
/// <see cref="RecomputeEvery"/> samples rather than per call (a sort of 128 values per search would cost more than the
/// hedge saves).
/// </summary>
public sealed class LatencyWindow
{
    public const int Capacity = 128;
    public const int RecomputeEvery = 16;

    /// <summary>Fewer samples than this: the percentile is not trusted and <see cref="P95"/> gives the fallback.</summary>
    public const int MinimumSamples = 20;

    private readonly double[] _samplesMs = new double[Capacity];
    private readonly object _gate = new();
    private long _count;
    private double _p95Ms = double.NaN;

    public void Record(TimeSpan latency)
    {
        lock (_gate)
        {
            _samplesMs[_count % Capacity] = latency.TotalMilliseconds;
            _count++;
            if (_count >= MinimumSamples && (_count % RecomputeEvery == 0 || double.IsNaN(_p95Ms)))
            {
                int n = (int)Math.Min(_count, Capacity);
                double[] sorted = _samplesMs[..n];
                Array.Sort(sorted);
                _p95Ms = sorted[Math.Min(n - 1, (int)Math.Ceiling(0.95 * n) - 1)];
            }
        }
    }

    /// <summary>The recent p95, or <paramref name="fallback"/> while there are too few samples.</summary>
    public TimeSpan P95(TimeSpan fallback)
    {
        double p95 = Volatile.Read(ref _p95Ms);
        return double.IsNaN(p95) ? fallback : TimeSpan.FromMilliseconds(p95);
    }
}
