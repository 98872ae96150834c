using System.Diagnostics;
using Xunit.Abstractions;

namespace AnnServer.Cluster.Tests;

/// <summary>Writes "12.3 s: what happened" lines to the test output, so a slow or failed run shows where the time went.</summary>
public sealed class PhaseLog(ITestOutputHelper output)
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    public void Mark(string what) => output.WriteLine($"{_clock.Elapsed.TotalSeconds,6:F1} s: {what}");
}
