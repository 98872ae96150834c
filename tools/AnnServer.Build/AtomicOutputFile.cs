namespace AnnServer.Build;

/// <summary>
/// An output written under a temporary name in the target's folder and renamed over the target only on
/// <see cref="Commit"/>; disposing without committing deletes it. So a failed or interrupted command never leaves a
/// partial file under the name the user asked for (and never touches an older file of that name).
/// </summary>
internal sealed class AtomicOutputFile : IDisposable
{
    private bool _committed;

    public AtomicOutputFile(string path)
    {
        FinalPath = Path.GetFullPath(path);
        string folder = Path.GetDirectoryName(FinalPath)!;
        TempPath = Path.Combine(folder, $".{Path.GetFileName(FinalPath)}.{Environment.ProcessId}-{Guid.NewGuid():N}.tmp");
    }

    public string FinalPath { get; }

    /// <summary>Write here (directly, or through a library that writes a file by name).</summary>
    public string TempPath { get; }

    public FileStream Create() => new(TempPath, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);

    /// <summary>Checks the output path before any work is done, so a typo fails in a second rather than after the build.</summary>
    /// <exception cref="UsageException">the folder does not exist, the path is a folder, or it names one of the inputs.</exception>
    public static void CheckPath(string option, string path, params string?[] inputs)
    {
        string full = Path.GetFullPath(path);
        if (Directory.Exists(full)) throw new UsageException($"{option} {path} is a folder; give a file name");
        string? folder = Path.GetDirectoryName(full);
        if (folder is null || !Directory.Exists(folder)) throw new UsageException($"{option} {path}: the folder {folder} does not exist");
        foreach (string? input in inputs)
            if (input is not null && string.Equals(Path.GetFullPath(input), full, StringComparison.Ordinal))
                throw new UsageException($"{option} {path} would overwrite the input {input}");
    }

    public void Commit()
    {
        File.Move(TempPath, FinalPath, overwrite: true);
        _committed = true;
    }

    public void Dispose()
    {
        if (_committed) return;
        // The temporary file, and any temporary file a library made beside it from its name.
        string folder = Path.GetDirectoryName(TempPath)!;
        foreach (string leftover in Directory.EnumerateFiles(folder, Path.GetFileName(TempPath) + "*"))
        {
            try { File.Delete(leftover); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}
