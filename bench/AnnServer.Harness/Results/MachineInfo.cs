using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace AnnServer.Harness.Results;

/// <summary>What the figures were measured on.</summary>
public sealed class MachineInfo
{
    public string? Cpu { get; init; }
    public int? Cores { get; init; }
    public string? Os { get; init; }
    public string? Runtime { get; init; }

    /// <summary>Widest SIMD width the .NET runtime accelerates here (Vector512, Vector256, Vector128).</summary>
    public string? Simd { get; init; }

    public static MachineInfo Current() => new()
    {
        Cpu = ReadCpuModel(),
        Cores = Environment.ProcessorCount,
        Os = RuntimeInformation.OSDescription,
        Runtime = RuntimeInformation.FrameworkDescription,
        Simd = Vector512.IsHardwareAccelerated ? "Vector512" : Vector256.IsHardwareAccelerated ? "Vector256"
            : Vector128.IsHardwareAccelerated ? "Vector128" : "none",
    };

    private static string ReadCpuModel()
    {
        try
        {
            if (File.Exists("/proc/cpuinfo"))
                foreach (string line in File.ReadLines("/proc/cpuinfo"))
                    if (line.StartsWith("model name", StringComparison.Ordinal))
                        return line[(line.IndexOf(':') + 1)..].Trim();
        }
        catch (IOException)
        {
            // Not worth failing a benchmark over.
        }
        return RuntimeInformation.ProcessArchitecture.ToString();
    }
}
