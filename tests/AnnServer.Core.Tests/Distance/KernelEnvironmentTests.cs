using System.Diagnostics;
using AnnServer.Core.Distance;

namespace AnnServer.Core.Tests.Distance;

/// <summary>
/// Re-runs the kernel tests in a child test process with wide instruction sets switched off, so the fallback
/// paths run as the active path on an AVX-512 machine (the garnet GarnetBitmapTests idea).
/// Opt-in: each child `dotnet test` costs ~10 s of mostly vstest start-up, too much for every run of a test project
/// the whole team shares. Run with:
///   ANN_KERNEL_ENV_TESTS=1 dotnet test tests/AnnServer.Core.Tests/AnnServer.Core.Tests.csproj --filter "FullyQualifiedName~KernelEnvironmentTests"
/// </summary>
public sealed class KernelEnvironmentTests
{
    public const string OptInVariable = "ANN_KERNEL_ENV_TESTS";
    private const string ExpectedPathVariable = "ANN_EXPECTED_KERNEL_PATH";

    /// <remarks>
    /// .NET 10 ignores DOTNET_EnableAVX512F (checked: Vector512 stays accelerated); the knob is DOTNET_EnableAVX512.
    /// DOTNET_EnableAVX2=0 also turns FMA off, which is why the kernels use MultiplyAddEstimate.
    /// </remarks>
    [OptInTheory]
    [InlineData("DOTNET_EnableAVX512", "0", KernelPath.Vector256)]
    [InlineData("DOTNET_PreferredVectorBitWidth", "128", KernelPath.Vector128)]
    [InlineData("DOTNET_EnableAVX2", "0", KernelPath.Vector128)]
    [InlineData("DOTNET_EnableHWIntrinsic", "0", KernelPath.Scalar)]
    public void KernelTestsPassWithNarrowerInstructionSets(string variable, string value, KernelPath cap)
    {
        var expected = (KernelPath)Math.Min((int)cap, (int)DistanceKernels.ActivePath);
        string testAssembly = typeof(KernelEnvironmentTests).Assembly.Location;
        string host = Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet";

        var start = new ProcessStartInfo(host)
        {
            WorkingDirectory = Path.GetTempPath(),
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add("test");
        start.ArgumentList.Add(testAssembly);
        start.ArgumentList.Add("--filter");
        start.ArgumentList.Add(
            "FullyQualifiedName~AnnServer.Core.Tests.Distance.KernelAccuracyTests" +
            "|FullyQualifiedName~AnnServer.Core.Tests.Distance.DistanceKernelsTests" +
            "|FullyQualifiedName~AnnServer.Core.Tests.Distance.SimdWidthTests" +
            "|FullyQualifiedName~AnnServer.Core.Tests.Distance.VectorMathTests" +
            "|FullyQualifiedName~AnnServer.Core.Tests.Hnsw.QuantizationTests.Int8DotProductPathsMatchTheScalarSum" +
            "|FullyQualifiedName~AnnServer.Core.Tests.Hnsw.QuantizationTests.EncodingMatchesTheScalarDefinition" +
            "|FullyQualifiedName~AnnServer.Core.Tests.Hnsw.Int4QuantizationTests.Int4DotProductPathsMatchTheScalarSum" +
            "|FullyQualifiedName~AnnServer.Core.Tests.Hnsw.Int4QuantizationTests.TheEstimatedDistanceIsCloseToTheExactOne" +
            "|FullyQualifiedName~" + nameof(ActivePathIsTheOneTheParentExpects));
        start.Environment[variable] = value;
        start.Environment[ExpectedPathVariable] = expected.ToString();
        start.Environment.Remove(OptInVariable); // the child must not start children of its own

        using var child = Process.Start(start)!;
        Task<string> stdout = child.StandardOutput.ReadToEndAsync();
        Task<string> stderr = child.StandardError.ReadToEndAsync();
        if (!child.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            child.Kill(entireProcessTree: true);
            Assert.Fail($"child test run with {variable}={value} timed out");
        }

        string output = stdout.Result + stderr.Result;
        Assert.True(child.ExitCode == 0, $"child test run with {variable}={value} failed:\n{output}");
        Assert.Contains("Passed!", output);
    }

    /// <summary>Runs in the child: the knob the parent set must have produced the path the parent expects.</summary>
    [Fact]
    public void ActivePathIsTheOneTheParentExpects()
    {
        string? expected = Environment.GetEnvironmentVariable(ExpectedPathVariable);
        if (expected is not null)
        {
            Assert.Equal(Enum.Parse<KernelPath>(expected), DistanceKernels.ActivePath);
        }
    }

    private sealed class OptInTheoryAttribute : TheoryAttribute
    {
        public OptInTheoryAttribute()
        {
            if (Environment.GetEnvironmentVariable(OptInVariable) != "1")
            {
                Skip = $"child-process runs are opt-in: set {OptInVariable}=1";
            }
        }
    }
}
