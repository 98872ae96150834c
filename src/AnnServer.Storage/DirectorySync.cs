using System.Runtime.InteropServices;

namespace AnnServer.Storage;

/// <summary>
/// fsync of a directory, so that a file created, renamed or removed in it survives a power
/// loss, not only a process crash. .NET has no API for it; on Linux we call open(2)/fsync(2).
/// Elsewhere it is a no-op (documented in docs/log-format.md).
/// </summary>
public static class DirectorySync
{
    // O_RDONLY opens a directory on Linux; O_DIRECTORY is left out because its value differs
    // between architectures (0x10000 on x64, 0x4000 on arm64).
    private const int O_RDONLY = 0;

    public static void Flush(string directory)
    {
        if (!OperatingSystem.IsLinux())
            return;
        int fd = open(directory, O_RDONLY);
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
