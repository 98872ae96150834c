using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace AnnServer.Harness.Results;

/// <summary>Reads and writes <see cref="BenchmarkReport"/> files: snake_case names, nulls left out.</summary>
public static class ReportJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        // The files are read by people and Python, not embedded in HTML: keep "C++" and "×" as they are.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>One-line form for parameters in tables.</summary>
    public static readonly JsonSerializerOptions Compact = new(Options) { WriteIndented = false };

    public static string Serialize(BenchmarkReport report) => JsonSerializer.Serialize(report, Options);

    public static BenchmarkReport Deserialize(string json, string source = "input")
    {
        BenchmarkReport? report;
        try
        {
            report = JsonSerializer.Deserialize<BenchmarkReport>(json, Options);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{source}: not an ann-bench result file ({e.Message})", e);
        }
        if (report is null)
            throw new InvalidDataException($"{source}: the file holds JSON null, not an ann-bench result");
        foreach (var row in report.Rows)
            if (row.Points is null)
                throw new InvalidDataException($"{source}: row '{row.System}' has no \"points\" array");
        return report;
    }

    public static void Write(string path, BenchmarkReport report)
    {
        string? folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (folder is not null) Directory.CreateDirectory(folder);
        File.WriteAllText(path, Serialize(report) + "\n");
    }

    public static BenchmarkReport Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such file", path);
        return Deserialize(File.ReadAllText(path), path);
    }
}
