namespace AnnServer.Cluster.Tests;

/// <summary>A fresh folder under the system temp directory, deleted on dispose (and at process exit if a test forgot).</summary>
public sealed class TempFolder : IDisposable
{
    public TempFolder(string prefix = "annserver-cluster-tests-")
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), prefix + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Path);
        ChildProcess.OnExit(Dispose);
    }

    public string Path { get; }

    public string Sub(string name)
    {
        string path = System.IO.Path.Combine(Path, name);
        Directory.CreateDirectory(path);
        return path;
    }

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
