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

    /// <summary>The model name, with the family and model numbers: a hypervisor may give every AMD host the same name
    /// ("AMD EPYC"), and two such hosts (family 25, Zen 4, and 26, Zen 5) ranked hnswlib and AnnServer differently.</summary>
    private static string ReadCpuModel()
    {
        try
        {
            if (File.Exists("/proc/cpuinfo"))
            {
                string? name = null, family = null, model = null;
                foreach (string line in File.ReadLines("/proc/cpuinfo"))
                {
                    if (line.Length == 0) break; // the first processor's block is enough
                    string value = line[(line.IndexOf(':') + 1)..].Trim();
                    if (line.StartsWith("model name", StringComparison.Ordinal)) name = value;
                    else if (line.StartsWith("cpu family", StringComparison.Ordinal)) family = value;
                    else if (line.StartsWith("model\t", StringComparison.Ordinal)) model = value;
                }
                if (name is not null)
                    return family is null ? name : $"{name} (family {family}, model {model})";
            }
        }
        catch (IOException)
        {
            // Not worth failing a benchmark over.
        }
        return RuntimeInformation.ProcessArchitecture.ToString();
    }
}
