using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Google.Protobuf.Collections;

namespace AnnServer.StubServer;

/// <summary>
/// CPU work standing in for a search (--work-micros): squared L2 distances from the request's query to stored vectors,
/// as many per call as took that long when calibrated at start. A stub that answers at once runs at 30,000 calls/s and
/// more, where Kestrel and the thread pool amortise their wake-ups over many calls; a server that searches for 65 µs a
/// call runs at a third of that rate, and pays more per call for the same stack. A stub doing the search's CPU work is
/// the floor measured the same way: its CPU per call above the work is the bare stack's at the server's rate.
/// A fixed count of distances, not a spin on the clock: a preempted call does the same work, not less.
/// </summary>
public sealed class StubWork
{
    private const int StoredVectors = 1024; // 3 MB at 784 dimensions: the stack's caches compete with it, as with a graph
    private readonly float[] _stored;
    private readonly int _dimension;
    private int _next;

    public StubWork(int dimension, double micros)
    {
        _dimension = dimension;
        _stored = new float[StoredVectors * dimension];
        var random = new Random(7);
        for (int i = 0; i < _stored.Length; i++) _stored[i] = random.NextSingle();
        Micros = micros;
        DistancesPerCall = micros <= 0 ? 0 : Calibrate(micros);
    }

    public double Micros { get; }

    public int DistancesPerCall { get; }

    /// <summary>Does one call's work against the request's query (none without --work-micros: the plain stub stays
    /// the bare floor).</summary>
    public float Run(RepeatedField<float> request)
    {
        if (DistancesPerCall == 0 || request.Count == 0) return 0;
        ReadOnlySpan<float> query = StubQuery.Of(request);
        float sum = 0;
        int start = Interlocked.Add(ref _next, DistancesPerCall) & (StoredVectors - 1);
        for (int i = 0; i < DistancesPerCall; i++)
            sum += SquaredL2(query, _stored.AsSpan(((start + i) & (StoredVectors - 1)) * _dimension, _dimension));
        return sum;
    }

    /// <summary>The distances that take <paramref name="micros"/> on one thread: the fastest of 20 timed rounds, so that
    /// a round preempted by other work on a shared machine does not count.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // timed at once: tier-0 code would be several times slower
    private int Calibrate(double micros)
    {
        var query = new float[_dimension];
        const int probe = 256;
        double best = double.MaxValue;
        for (int round = 0; round < 20; round++)
        {
            long start = Stopwatch.GetTimestamp();
            float sink = 0;
            for (int i = 0; i < probe; i++) sink += SquaredL2(query, _stored.AsSpan((i & (StoredVectors - 1)) * _dimension, _dimension));
            double elapsed = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
            if (sink >= 0) best = Math.Min(best, elapsed);
        }
        return Math.Max(1, (int)Math.Round(micros * probe / best));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float SquaredL2(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        int n = Math.Min(a.Length, b.Length), i = 0;
        var acc = Vector<float>.Zero;
        ReadOnlySpan<Vector<float>> va = MemoryMarshal.Cast<float, Vector<float>>(a[..n]), vb = MemoryMarshal.Cast<float, Vector<float>>(b[..n]);
        for (; i < va.Length; i++)
        {
            Vector<float> d = va[i] - vb[i];
            acc += d * d;
        }
        float sum = Vector.Sum(acc);
        for (i *= Vector<float>.Count; i < n; i++)
        {
            float d = a[i] - b[i];
            sum += d * d;
        }
        return sum;
    }
}
