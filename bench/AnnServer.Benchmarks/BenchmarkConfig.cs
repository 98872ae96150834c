using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;

namespace AnnServer.Benchmarks;

/// <summary>
/// How every suite runs. In-process: BenchmarkDotNet's default toolchain generates and builds a project next to
/// ours, and that build writes into the engine's shared obj/ folders while other people build them; in-process runs
/// the code `dotnet run -c Release` already compiled. It is asked for with the console flag --inProcess rather than
/// a job in the config, so that --job short (and the other job options) still apply to it.
/// The memory diagnoser shows that the hot paths (distance, search) allocate nothing.
/// </summary>
public static class BenchmarkConfig
{
    /// <summary>Reports go to the temporary folder, not the working directory (the repository root when run as the
    /// README says); --artifacts DIR puts them elsewhere.</summary>
    public static readonly string DefaultArtifactsPath = Path.Combine(Path.GetTempPath(), "annserver-benchmarks");

    public static IConfig Create() => DefaultConfig.Instance
        .WithArtifactsPath(DefaultArtifactsPath)
        .AddDiagnoser(MemoryDiagnoser.Default)
        .WithOptions(ConfigOptions.JoinSummary | ConfigOptions.DisableLogFile);

    /// <summary>The console arguments with --inProcess added unless the caller already chose a toolchain.</summary>
    public static string[] InProcess(string[] args) =>
        args.Any(a => a is "--inProcess" or "-i" or "--toolchain" or "--runtimes" or "-r" or "--corerun" or "--cli")
            ? args
            : [.. args, "--inProcess"];
}
