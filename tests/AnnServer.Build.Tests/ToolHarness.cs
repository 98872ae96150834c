using AnnServer.Datasets;

namespace AnnServer.Build.Tests;

/// <summary>What one in-process run of ann-build printed and returned.</summary>
public sealed record ToolResult(int ExitCode, string Out, string Error)
{
    public string[] ErrorLines => Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>The value after a "name   value" line of the summary or of info.</summary>
    public string Field(string name)
    {
        foreach (string line in Out.Split('\n'))
        {
            string trimmed = line.Trim();
            if (trimmed.StartsWith(name + " ", StringComparison.Ordinal)) return trimmed[name.Length..].Trim();
        }
        throw new Xunit.Sdk.XunitException($"no '{name}' line in:\n{Out}");
    }
}

/// <summary>A fresh folder per test class instance, and the tool run in-process on files made there.</summary>
public sealed class ToolHarness : IDisposable
{
    public ToolHarness()
    {
        Folder = Path.Combine(Path.GetTempPath(), "annserver-build-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Folder);
    }

    public string Folder { get; }

    public string File(string name) => Path.Combine(Folder, name);

    public static ToolResult Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = Program.Run(args, output, error);
        return new ToolResult(code, output.ToString(), error.ToString().Replace("\r", ""));
    }

    /// <summary>The files in the folder, so a test can assert that nothing (not even a temporary file) was left behind.</summary>
    public string[] Files() => Directory.GetFiles(Folder).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray()!;

    public static VectorSet Vectors(int count, int dimension, int seed = 1)
    {
        var random = new Random(seed);
        var data = new float[count * dimension];
        for (int i = 0; i < data.Length; i++) data[i] = (float)random.NextDouble();
        return new VectorSet(data, count, dimension);
    }

    public string Fvecs(string name, VectorSet vectors)
    {
        string path = File(name);
        Texmex.WriteFvecs(path, vectors);
        return path;
    }

    public void Dispose()
    {
        try { Directory.Delete(Folder, recursive: true); } catch (IOException) { }
    }
}
