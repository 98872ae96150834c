using System.Runtime.InteropServices;

namespace AnnServer.Collections;

/// <summary>
/// The folder from which <see cref="SnapshotLoader"/> may read files (<c>--import-dir</c>): a client names a file
/// relative to it, and nothing outside it can be reached. A path with a ".." segment is refused as written; any other
/// path, absolute or relative, is resolved to its real path (every symbolic link along it followed, by the system's
/// <c>realpath</c>) and must then lie inside the folder's own real path. Checking the real path, not the text, is what
/// stops a link inside the folder that leads out of it. (A link swapped between this check and the open is the
/// operator's own folder changing under the server; the folder is meant to be written only by the pipeline.)
/// </summary>
public sealed class ImportDirectory
{
    /// <param name="path">the folder (the settings check that it exists at start; should it be gone later, every file
    /// in it is simply not found).</param>
    public ImportDirectory(string path)
    {
        string full = Path.GetFullPath(path);
        Root = RealPath(full) ?? full;
    }

    /// <summary>The folder's real path (links resolved).</summary>
    public string Root { get; }

    /// <summary>The real path of the regular file <paramref name="path"/> names inside the folder.</summary>
    /// <exception cref="ArgumentException">empty, a ".." segment, or a path that is or leads outside the folder, or not
    /// a regular file; the message names the path and the rule.</exception>
    /// <exception cref="ImportFileNotFoundException">no such file.</exception>
    public string Resolve(string path)
    {
        if (string.IsNullOrEmpty(path))
            throw new ArgumentException("path is empty: name a snapshot file relative to the import directory", nameof(path));
        if (path.Contains('\0'))
            throw new ArgumentException("path contains a NUL character", nameof(path));
        foreach (string segment in path.Split('/', '\\'))
            if (segment == "..")
                throw new ArgumentException($"path '{path}' contains '..': name a file inside the import directory {Root}", nameof(path));
        string full = Path.GetFullPath(Path.IsPathRooted(path) ? path : Path.Combine(Root, path));
        if (!IsInside(full))
            throw new ArgumentException($"path '{path}' is outside the import directory {Root}: name a file inside it", nameof(path));
        string? real = RealPath(full);
        if (real is null)
            throw new ImportFileNotFoundException($"path '{path}': no such file in the import directory {Root}");
        if (!IsInside(real))
            throw new ArgumentException(
                $"path '{path}' leads outside the import directory {Root} (through a symbolic link): name a file inside it", nameof(path));
        if (!File.Exists(real))
            throw new ArgumentException($"path '{path}' is not a regular file in the import directory {Root}", nameof(path));
        return real;
    }

    private bool IsInside(string fullPath) =>
        fullPath.Length > Root.Length + 1
        && fullPath.StartsWith(Root, StringComparison.Ordinal)
        && fullPath[Root.Length] == Path.DirectorySeparatorChar;

    /// <summary>The path with every link resolved, or null when some part of it does not exist. On systems without
    /// <c>realpath</c> (Windows), only a link at the end is followed.</summary>
    private static string? RealPath(string fullPath)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
        {
            var info = new FileInfo(fullPath);
            if (!info.Exists && !Directory.Exists(fullPath)) return null;
            return info.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? fullPath;
        }
        IntPtr resolved = realpath(fullPath, IntPtr.Zero);
        if (resolved == IntPtr.Zero)
            return null;
        try
        {
            return Marshal.PtrToStringUTF8(resolved);
        }
        finally
        {
            free(resolved);
        }
    }

    [DllImport("libc", SetLastError = true)]
    private static extern IntPtr realpath([MarshalAs(UnmanagedType.LPUTF8Str)] string path, IntPtr resolved);

    [DllImport("libc")]
    private static extern void free(IntPtr pointer);
}
