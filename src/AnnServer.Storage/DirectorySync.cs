using System.Runtime.InteropServices;

namespace AnnServer.Storage;

/// <summary>
/// fsync of a directory, so that a file created, renamed or removed in it survives a power
/// loss, not only a process crash. .NET has no API for it; on Linux we call open(2)/fsync(2).
/// Elsewhere it is a no-op (documented in docs/log-format.md).
/// </summary>
internal static class DirectorySync
{
    private const int O_RDONLY = 0;
    private const int O_DIRECTORY = 0x10000; // Linux value (x64 and arm64)

    public static void Flush(string directory)
    {
        if (!OperatingSystem.IsLinux())
            return;
        int fd = open(directory, O_RDONLY | O_DIRECTORY);
        if (fd < 0)
            throw new IOException($"cannot open directory {directory} to flush it (errno {Marshal.GetLastPInvokeError()})");
        try
        {
            if (fsync(fd) != 0)
                throw new IOException($"fsync of directory {directory} failed (errno {Marshal.GetLastPInvokeError()})");
        }
        finally
        {
            close(fd);
        }
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    [DllImport("libc", SetLastError = true)]
    private static extern int fsync(int fd);

    [DllImport("libc")]
    private static extern int close(int fd);
}
