using System.Diagnostics;

namespace AnnServer.Build.Progress;

/// <summary>Progress as a line every <c>interval</c> and one at the end, for logs and redirected output:
/// "build    12,288 / 60,000 vectors  20.5 %  1,704 vectors/s  ETA 0:28".</summary>
internal sealed class PlainProgressDisplay(TextWriter output, TimeSpan interval) : ProgressDisplay
{
    public override T Run<T>(string stage, long total, string unit, Func<IProgress<long>, T> work)
    {
        var reporter = new Reporter(output, interval, stage, total, unit);
        var result = work(reporter);
        reporter.Finish();
        return result;
    }

    private sealed class Reporter(TextWriter output, TimeSpan interval, string stage, long total, string unit) : IProgress<long>
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private readonly Lock _lock = new();
        private TimeSpan _lastLine;
        private long _done;

        public void Report(long value)
        {
            lock (_lock)
            {
                // Reports may arrive out of order from several threads: progress only moves forward.
                if (value > _done) _done = value;
                var now = _clock.Elapsed;
                if (now - _lastLine < interval) return;
                _lastLine = now;
                output.WriteLine(Line(now));
                output.Flush();
            }
        }

        public void Finish()
        {
            lock (_lock)
            {
                var elapsed = _clock.Elapsed;
                string rate = total > 0 && elapsed.TotalSeconds > 0 ? $" ({HumanFormat.Rate(_done / elapsed.TotalSeconds)} {unit}/s)" : "";
                string amount = total > 0 ? $"{HumanFormat.Count(_done)} {unit} " : "";
                output.WriteLine($"{stage,-8} done: {amount}in {HumanFormat.Seconds(elapsed)}{rate}");
                output.Flush();
            }
        }

        private string Line(TimeSpan now)
        {
            if (total <= 0) return $"{stage,-8} {HumanFormat.Seconds(now)} elapsed";
            double rate = _done / Math.Max(now.TotalSeconds, 1e-9);
            string eta = rate > 0 ? HumanFormat.Duration(TimeSpan.FromSeconds((total - _done) / rate)) : "?";
            double percent = 100.0 * _done / total;
            return $"{stage,-8} {HumanFormat.Count(_done)} / {HumanFormat.Count(total)} {unit}  {percent:F1} %  {HumanFormat.Rate(rate)} {unit}/s  ETA {eta}";
        }
    }
}
