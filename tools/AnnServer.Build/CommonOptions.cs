using System.CommandLine;
using AnnServer.Core;
using AnnServer.Datasets;

namespace AnnServer.Build;

/// <summary>Options shared by several commands, and the parsing of their values into the engine's types.</summary>
internal static class CommonOptions
{
    public static Option<string?> Format(string name = "--format") => new(name)
    {
        Description = $"Input format ({VectorFormats.Names}); by default told from the file name or content",
        HelpName = "fvecs|bvecs|idx|npy|hdf5|parquet",
    };

    public static Option<string?> Dataset(string name = "--dataset", string defaultText = "train") => new(name)
    {
        Description = $"For HDF5 input: the dataset to read (default {defaultText})",
        HelpName = "train|test|neighbors|distances",
    };

    public static Option<string> Metric() => new("--metric")
    {
        Description = "Distance: l2 (squared Euclidean), ip (inner product), cosine",
        HelpName = "l2|ip|cosine",
        Required = true,
    };

    public static Option<int> Threads() => new("--threads")
    {
        Description = "Worker threads (0 = all cores)",
        DefaultValueFactory = _ => 0,
    };

    public static VectorFormat? ParseFormat(string option, string? name)
    {
        if (name is null) return null;
        try
        {
            return VectorFormats.Parse(name);
        }
        catch (ArgumentException e)
        {
            throw new UsageException($"{option}: {e.Message}");
        }
    }

    public static DistanceMetric ParseMetric(string name) => name.Trim().ToLowerInvariant() switch
    {
        "l2" or "euclidean" => DistanceMetric.L2,
        "ip" or "inner-product" or "dot" => DistanceMetric.InnerProduct,
        "cosine" or "angular" => DistanceMetric.Cosine,
        _ => throw new UsageException($"--metric: unknown metric '{name}': use l2, ip or cosine"),
    };

    /// <summary>The metric a name stands for (including ann-benchmarks' "euclidean" and "angular"), or null.</summary>
    public static DistanceMetric? TryParseMetric(string name)
    {
        try
        {
            return ParseMetric(name);
        }
        catch (UsageException)
        {
            return null;
        }
    }

    public static string MetricName(DistanceMetric metric) => metric switch
    {
        DistanceMetric.L2 => "l2",
        DistanceMetric.InnerProduct => "ip",
        DistanceMetric.Cosine => "cosine",
        _ => metric.ToString(),
    };

    public static int CheckThreads(int threads)
    {
        if (threads is < 0 or > 1024) throw new UsageException($"--threads must be between 0 (all cores) and 1024, got {threads}");
        return threads;
    }

    public static void CheckRange(string option, int value, int min, int max)
    {
        if (value < min || value > max) throw new UsageException($"{option} must be between {min} and {max}, got {value}");
    }

    public static void CheckExtension(string option, string path, string extension, string why)
    {
        if (!path.EndsWith(extension, StringComparison.OrdinalIgnoreCase))
            throw new UsageException($"{option} {path} must end in {extension}: {why}");
    }

    public static string FormatName(VectorFormat format) => format.ToString().ToLowerInvariant();
}
