using System.Runtime.InteropServices;

namespace AnnServer.Core.Snapshots;

/// <summary>
/// Flushes a directory's entries to disk, so that a rename into it survives a power loss (POSIX says a file's fsync does
/// not cover the name that points to it). .NET cannot open a directory as a stream, hence the two libc calls.
/// </summary>
internal static partial class DirectoryFlush
{
    public static void Flush(string directory)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return;
        int descriptor = Open(directory, 0 /* O_RDONLY */);
        if (descriptor < 0) return;
        try
        {
            Fsync(descriptor);
        }
        finally
        {
            Close(descriptor);
        }
    }

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync")]
    private static partial int Fsync(int descriptor);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int descriptor);
}
