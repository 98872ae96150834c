using FsCheck;
using Microsoft.FSharp.Core;

namespace AnnServer.Fuzz.Tests;

/// <summary>
/// How much to fuzz. The default runs in seconds with a fixed seed, so a failure reproduces; for a longer run set
/// <c>ANNSERVER_FUZZ_SCALE</c> (a multiplier of every property's case count) and, for new inputs, <c>ANNSERVER_FUZZ_SEED</c>:
/// <code>ANNSERVER_FUZZ_SCALE=50 ANNSERVER_FUZZ_SEED=$RANDOM dotnet test tests/AnnServer.Fuzz.Tests</code>
/// A failure prints the seed it ran with.
/// </summary>
internal static class FuzzSettings
{
    public static int Scale { get; } = int.TryParse(Environment.GetEnvironmentVariable("ANNSERVER_FUZZ_SCALE"), out int scale) && scale > 0 ? scale : 1;

    public static ulong Seed { get; } = ulong.TryParse(Environment.GetEnvironmentVariable("ANNSERVER_FUZZ_SEED"), out ulong seed) ? seed : 20261127;

    /// <summary>A configuration that runs <paramref name="cases"/> × <see cref="Scale"/> cases from the fixed seed, throws on
    /// the first failure, and does not shrink far (the server's state moves on between cases).</summary>
    public static Config Cases(int cases) => Config.QuickThrowOnFailure
        .WithMaxTest(cases * Scale)
        .WithEndSize(100)
        .WithQuietOnSuccess(true)
        .WithReplay(FSharpOption<Replay>.Some(new Replay(new Rnd(Seed, 0x9E3779B97F4A7C15UL | 1), FSharpOption<int>.None)));
}
