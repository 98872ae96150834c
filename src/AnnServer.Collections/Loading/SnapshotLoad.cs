using System.Diagnostics;
using AnnServer.Core;

namespace AnnServer.Collections;

/// <summary>
/// A snapshot being loaded into the running server, under the name it will serve as: the registry lists and describes
/// it (state <see cref="CollectionState.Loading"/>, with its progress), its name is taken (a create, load or alias of
/// the name is ALREADY_EXISTS), and every data-plane call is refused with <see cref="CollectionUnavailableException"/>
/// (UNAVAILABLE) until the loaded collection replaces it. The <see cref="SnapshotLoader"/> advances it.
/// </summary>
public sealed class SnapshotLoad(string name, long totalBytes, LoadStep firstStep) : NonServingCollection(name)
{
    private long _bytesDone;
    private volatile LoadStep _step = firstStep;
    // When each step began (Stopwatch timestamps, by LoadStep), for the log line that says where a load's time went.
    private readonly long[] _stepStarted = StartedWith(firstStep);

    public long TotalBytes { get; } = totalBytes;

    public LoadProgress Progress => new(_step, Interlocked.Read(ref _bytesDone), TotalBytes);

    internal void Advance(long bytes) => Interlocked.Add(ref _bytesDone, bytes);

    internal void Enter(LoadStep step)
    {
        _stepStarted[(int)step] = Stopwatch.GetTimestamp();
        _step = step;
    }

    /// <summary>"copying 412 ms, verifying 35 ms, building 280 ms": each step entered so far, up to now.</summary>
    internal string StepDurations()
    {
        var parts = new List<string>();
        long now = Stopwatch.GetTimestamp();
        for (int step = 0; step < _stepStarted.Length; step++)
        {
            if (_stepStarted[step] == 0) continue;
            long end = now;
            for (int next = step + 1; next < _stepStarted.Length; next++)
                if (_stepStarted[next] != 0) { end = _stepStarted[next]; break; }
            parts.Add($"{((LoadStep)step).ToString().ToLowerInvariant()} {Stopwatch.GetElapsedTime(_stepStarted[step], end).TotalMilliseconds:F0} ms");
        }
        return string.Join(", ", parts);
    }

    private static long[] StartedWith(LoadStep firstStep)
    {
        var started = new long[Enum.GetValues<LoadStep>().Length];
        started[(int)firstStep] = Stopwatch.GetTimestamp();
        return started;
    }

    public override CollectionStatus Status() => new(
        Name, Dimension: 0, DistanceMetric.L2, M: 0, EfConstruction: 0, Count: 0, NodeCount: 0, MemoryBytes: 0,
        SnapshotLogPosition: 0, LogPosition: 0, SnapshotBytes: 0, SnapshotTime: default, WritesSinceSnapshot: 0,
        VectorQuantization.None, State: CollectionState.Loading, Load: Progress);

    /// <summary>UNAVAILABLE, with the progress: retry later.</summary>
    public override Exception Refusal()
    {
        LoadProgress progress = Progress;
        return new CollectionUnavailableException(
            $"collection '{Name}' is being loaded from a snapshot ({progress.Step.ToString().ToLowerInvariant()}, " +
            $"{progress.BytesDone} of {progress.TotalBytes} bytes) and serves no calls yet; retry once GetCollectionInfo shows it READY");
    }
}
