using System.Text.Json;
using System.Text.Json.Serialization;
using AnnServer.Harness.Results;

namespace AnnServer.Harness.Soak;

/// <summary>
/// Whether one memory figure stayed flat after warm-up: the median of the first three samples after warm-up against
/// the median of the last three, and the least-squares slope over all of them. Flat when the change is at most
/// <see cref="Tolerance"/> of the starting value or <see cref="SlackBytes"/>, whichever is larger.
/// </summary>
public sealed record MemoryTrend(
    string Name, double AfterWarmupBytes, double EndBytes, double ChangeBytes, double SlopeBytesPerHour,
    double Tolerance, double SlackBytes, bool Flat)
{
    public static MemoryTrend Judge(string name, IReadOnlyList<ServerSample> samples, Func<ServerSample, double> value,
        double tolerance, double slackBytes)
    {
        var judged = samples.Where(s => !s.WarmingUp && double.IsFinite(value(s))).ToList();
        if (judged.Count < 2)
            return new MemoryTrend(name, double.NaN, double.NaN, double.NaN, double.NaN, tolerance, slackBytes, Flat: false);
        double start = Median(judged.Take(3).Select(value));
        double end = Median(judged.TakeLast(3).Select(value));
        double change = end - start;
        return new MemoryTrend(name, start, end, change, Slope(judged, value) * 3600, tolerance, slackBytes,
            Flat: change <= Math.Max(tolerance * start, slackBytes));
    }

    private static double Median(IEnumerable<double> values)
    {
        double[] sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    /// <summary>Bytes per second, least squares.</summary>
    private static double Slope(List<ServerSample> samples, Func<ServerSample, double> value)
    {
        double meanX = samples.Average(s => s.ElapsedSeconds), meanY = samples.Average(value);
        double num = 0, den = 0;
        foreach (ServerSample s in samples)
        {
            num += (s.ElapsedSeconds - meanX) * (value(s) - meanY);
            den += (s.ElapsedSeconds - meanX) * (s.ElapsedSeconds - meanX);
        }
        return den == 0 ? 0 : num / den;
    }
}

/// <summary>What `ann-bench soak --json` writes.</summary>
public sealed class SoakReport
{
    public required string Command { get; init; }
    public required string Target { get; init; }
    public required string Collection { get; init; }
    public int Dimension { get; init; }
    public long PointsAtStart { get; init; }
    public double Minutes { get; init; }
    public double WarmupMinutes { get; init; }
    public int Clients { get; init; }
    public double UpsertFraction { get; init; }
    public double DeleteFraction { get; init; }
    public required MachineInfo Machine { get; init; }
    public DateTime StartedUtc { get; init; }
    public long Searches { get; init; }
    public long Writes { get; init; }
    public required SortedDictionary<string, long> Errors { get; init; }
    public required Verification Verification { get; init; }
    public required List<MinuteFigures> PerMinute { get; init; }
    public required List<MemoryTrend> Memory { get; init; }

    /// <summary>True when the memory that is not the index's (RSS − memory_bytes) and the GC heap both stayed flat.</summary>
    public bool MemoryFlat { get; init; }

    public required List<ServerSample> Samples { get; init; }

    public static SoakReport From(SoakResult result, SoakOptions options, string command, DateTime started)
    {
        List<ServerSample> samples = result.Samples;
        var memory = new List<MemoryTrend>
        {
            MemoryTrend.Judge("working set (RSS)", samples, s => s.WorkingSetBytes, 0.10, 32 << 20),
            MemoryTrend.Judge("RSS minus index (memory_bytes)", samples, s => s.OverheadBytes, 0.10, 32 << 20),
            MemoryTrend.Judge("GC heap", samples, s => s.GcHeapBytes, 0.25, 32 << 20),
        };
        return new SoakReport
        {
            Command = command,
            Target = options.Target.ToString(),
            Collection = options.Collection,
            Dimension = (int)result.Collection.Dimension,
            PointsAtStart = (long)result.Collection.Count,
            Minutes = options.Duration.TotalMinutes,
            WarmupMinutes = options.Warmup.TotalMinutes,
            Clients = options.Clients,
            UpsertFraction = options.UpsertFraction,
            DeleteFraction = options.DeleteFraction,
            Machine = MachineInfo.Current(),
            StartedUtc = started,
            Searches = result.Searches,
            Writes = result.Writes,
            Errors = result.Errors,
            Verification = result.Verification,
            PerMinute = result.MinuteP99Ms.Select((p99, i) => new MinuteFigures(i + 1, result.MinuteSearches[i], p99)).ToList(),
            Memory = memory,
            MemoryFlat = memory[1].Flat && memory[2].Flat,
            Samples = samples,
        };
    }

    public void Save(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        File.WriteAllText(path, JsonSerializer.Serialize(this, JsonOptions));
    }

    public static SoakReport Load(string path) =>
        JsonSerializer.Deserialize<SoakReport>(File.ReadAllText(path), JsonOptions)
        ?? throw new InvalidDataException($"{path}: not a soak report");

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };
}

/// <summary>Searches answered in one minute of the run and their 99th percentile latency (client side).</summary>
public sealed record MinuteFigures(int Minute, long Searches, double P99Ms);
