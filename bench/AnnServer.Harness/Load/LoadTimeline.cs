using System.Diagnostics;
using System.Text.Json;
using AnnServer.Harness.Results;
using HdrHistogram;

namespace AnnServer.Harness.Load;

/// <summary>
/// The measured requests second by second (`ann-bench load --timeline`): how many were due in each second, how many
/// succeeded and failed, and their latency percentiles, with the wall-clock time each second began, so that an event
/// timed by another process (an alias switched, a collection dropped) can be placed on it.
/// </summary>
/// <remarks>A request belongs to the second it was due in (open loop) or sent in (closed loop), not the one it was
/// answered in: a stall then shows in the second that suffered it. Histograms keep two significant digits (1 %), each
/// made up front: a second costs about 70 KB.</remarks>
public sealed class LoadTimeline
{
    private const long HighestTrackableNanoseconds = 600_000_000_000;

    private readonly long _startTimestamp;
    private readonly long _startUnixMs;
    private readonly Second[] _seconds;

    /// <param name="startTimestamp">The Stopwatch timestamp at which second 0 begins.</param>
    /// <param name="duration">The measured time; a request due after it is not recorded.</param>
    public LoadTimeline(long startTimestamp, TimeSpan duration)
    {
        _startTimestamp = startTimestamp;
        _startUnixMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - (long)((Stopwatch.GetTimestamp() - startTimestamp) * 1000.0 / Stopwatch.Frequency);
        _seconds = new Second[Math.Max(1, (int)Math.Ceiling(duration.TotalSeconds))];
        for (int i = 0; i < _seconds.Length; i++) _seconds[i] = new Second();
    }

    public void RecordSuccess(long dueTimestamp, long latencyNanoseconds)
    {
        if (SecondOf(dueTimestamp) is not { } second) return;
        Interlocked.Increment(ref second.Succeeded);
        second.Latencies.RecordValue(Math.Clamp(latencyNanoseconds, 1, HighestTrackableNanoseconds));
    }

    public void RecordError(long dueTimestamp)
    {
        if (SecondOf(dueTimestamp) is { } second) Interlocked.Increment(ref second.Errors);
    }

    private Second? SecondOf(long timestamp)
    {
        if (timestamp < _startTimestamp) return null; // division truncates toward zero: the last tick before would land in second 0
        long index = (timestamp - _startTimestamp) / Stopwatch.Frequency;
        return index < _seconds.Length ? _seconds[index] : null;
    }

    /// <summary>One entry per measured second, in order.</summary>
    public IReadOnlyList<TimelineSecond> Seconds()
    {
        var entries = new TimelineSecond[_seconds.Length];
        for (int i = 0; i < entries.Length; i++)
        {
            Second second = _seconds[i];
            HistogramBase latencies = second.Latencies.GetIntervalHistogram();
            bool any = latencies.TotalCount > 0;
            double Us(double percentile) => any ? Math.Round(latencies.GetValueAtPercentile(percentile) / 1000.0, 1) : 0;
            entries[i] = new TimelineSecond(i, _startUnixMs + 1000L * i, Volatile.Read(ref second.Succeeded), Volatile.Read(ref second.Errors),
                Us(50), Us(99), any ? Math.Round(latencies.GetMaxValue() / 1000.0, 1) : 0);
        }
        return entries;
    }

    public void Write(string path)
    {
        var document = new TimelineDocument(_startUnixMs, Seconds());
        File.WriteAllText(path, JsonSerializer.Serialize(document, ReportJson.Options));
    }

    private sealed class Second
    {
        public long Succeeded;
        public long Errors;
        public readonly Recorder Latencies = HistogramFactory.With64BitBucketSize()
            .WithValuesFrom(1).WithValuesUpTo(HighestTrackableNanoseconds).WithPrecisionOf(2)
            .WithThreadSafeWrites().WithThreadSafeReads().Create();
    }
}

/// <summary>A second of <see cref="LoadTimeline"/>: requests due in it that succeeded or failed, and the successes' latency.</summary>
public sealed record TimelineSecond(int Second, long UnixMs, long Succeeded, long Errors, double P50Us, double P99Us, double MaxUs);

/// <summary>The file `--timeline` writes: when second 0 began, and every second.</summary>
public sealed record TimelineDocument(long StartUnixMs, IReadOnlyList<TimelineSecond> Seconds);
