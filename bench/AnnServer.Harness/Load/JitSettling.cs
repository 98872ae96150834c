using System.Diagnostics;
using System.Runtime;

namespace AnnServer.Harness.Load;

/// <summary>
/// Waits until this process's JIT compiler has gone quiet. Tiered compilation recompiles the client's hot path (gRPC,
/// HTTP/2, protobuf, the load loop) on a background thread for seconds after the load starts: about 5 s of CPU, spread
/// over 6-7 s at 1,000,000 x 128 over 8 streams of 8 searches a message: 65 % of the client's CPU in a measured time
/// that began after a 1 s warm-up (perf, thread ".NET Tiered Com"). A caller that stays up pays that once; a measured
/// time that starts before it ends charges it to every search.
/// </summary>
internal static class JitSettling
{
    /// <summary>How long the compiler must stay (nearly) idle to count as settled. 0.5 s once ended a warm-up at 2.1 s
    /// on cores loaded to an average of 27, where the compiling thread got no core for that long and the run then
    /// measured its compilation (161 µs of client CPU a call instead of ~30): a longer window makes that less likely,
    /// though on cores that busy nothing rules it out.</summary>
    private static readonly TimeSpan QuietWindow = TimeSpan.FromSeconds(1);

    /// <summary>Compilation time allowed within <see cref="QuietWindow"/> that still counts as idle: 1 % of a core, what
    /// the odd late method (a progress line, an on-stack replacement) costs once the hot path is compiled.</summary>
    private static readonly TimeSpan QuietCompilation = TimeSpan.FromMilliseconds(10);

    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(100);

    /// <summary>Returns once the JIT has compiled for at most <see cref="QuietCompilation"/> over the last
    /// <see cref="QuietWindow"/>, or after <paramref name="limit"/>, whichever comes first.</summary>
    public static async Task WaitUntilQuietAsync(TimeSpan limit, CancellationToken cancellationToken)
    {
        long giveUpAt = Stopwatch.GetTimestamp() + (long)(limit.TotalSeconds * Stopwatch.Frequency);
        int polls = (int)Math.Ceiling(QuietWindow / Poll);
        // compilation time at each of the last polls, a ring: the window is [oldest, newest]
        var seen = new TimeSpan[polls + 1];
        int taken = 0;
        while (Stopwatch.GetTimestamp() < giveUpAt)
        {
            seen[taken % seen.Length] = JitInfo.GetCompilationTime(currentThread: false);
            taken++;
            if (taken > polls)
            {
                TimeSpan newest = seen[(taken - 1) % seen.Length], oldest = seen[taken % seen.Length];
                if (newest - oldest <= QuietCompilation) return;
            }
            await Task.Delay(Poll, cancellationToken);
        }
    }
}
