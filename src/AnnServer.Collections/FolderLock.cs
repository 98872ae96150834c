namespace AnnServer.Collections;

/// <summary>
/// One process's exclusive hold on a folder, until disposed: the file <c>.lock</c> in the folder, kept open with
/// <see cref="FileShare.None"/>. On Linux and macOS .NET takes <c>flock(LOCK_EX | LOCK_NB)</c> for that: advisory, but
/// honoured by every .NET process (and by a second opener in the same process), and released by the kernel when the
/// process dies, SIGKILL included, so a crash never leaves a stale lock behind. On Windows it is a sharing lock.
/// <para>
/// The holder's pid goes to <c>.lock.pid</c> beside it, for the message a second process shows: .NET cannot read the
/// locked file itself (it takes a shared flock to read). The lock file is never deleted: a process could otherwise
/// lock an unlinked file while another creates a new one, and both would hold "the" lock.
/// </para>
/// </summary>
public sealed class FolderLock : IDisposable
{
    public const string LockFileName = ".lock";
    public const string HolderFileName = ".lock.pid";

    private readonly FileStream _lockFile;
    private readonly string? _holderFile;
    private int _released;

    private FolderLock(string folder, FileStream lockFile, string? holderFile)
    {
        Folder = folder;
        _lockFile = lockFile;
        _holderFile = holderFile;
    }

    /// <summary>The locked folder (absolute).</summary>
    public string Folder { get; }

    /// <summary>Creates <paramref name="folder"/> if needed and locks it.</summary>
    /// <param name="recordHolder">write this process's pid to <see cref="HolderFileName"/>.</param>
    /// <exception cref="FolderInUseException">another process (or another owner in this one) holds the lock.</exception>
    public static FolderLock Acquire(string folder, bool recordHolder)
    {
        folder = Path.GetFullPath(folder);
        Directory.CreateDirectory(folder);
        string lockPath = Path.Combine(folder, LockFileName);
        string holderPath = Path.Combine(folder, HolderFileName);
        FileStream lockFile;
        try
        {
            lockFile = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e) when (IsSharingViolation(e))
        {
            throw new FolderInUseException(folder, lockPath, recordHolder ? ReadHolder(holderPath) : null);
        }
        if (recordHolder)
        {
            try
            {
                File.WriteAllText(holderPath, $"{Environment.ProcessId}\n");
            }
            catch
            {
                lockFile.Dispose();
                throw;
            }
        }
        return new FolderLock(folder, lockFile, recordHolder ? holderPath : null);
    }

    /// <summary>Removes the pid file, then releases the lock (in that order: the next holder's pid file is its own).</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _released, 1) != 0) return;
        try
        {
            if (_holderFile is not null) File.Delete(_holderFile);
        }
        catch (IOException)
        {
            // A stale pid file is only ever shown next to a held lock, and the next holder overwrites it.
        }
        catch (UnauthorizedAccessException)
        {
        }
        _lockFile.Dispose();
    }

    private static int? ReadHolder(string holderPath)
    {
        try
        {
            return int.TryParse(File.ReadAllText(holderPath).Trim(), out int pid) ? pid : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null; // the holder has not written it yet, or is releasing the lock
        }
    }

    /// <summary>EWOULDBLOCK from flock on Linux (11) and macOS (35); ERROR_SHARING_VIOLATION or ERROR_LOCK_VIOLATION on
    /// Windows. Any other failure (permissions, a read-only disk) is not "in use" and propagates as it is.</summary>
    private static bool IsSharingViolation(IOException e) =>
        e is not FileNotFoundException and not DirectoryNotFoundException &&
        (OperatingSystem.IsWindows()
            ? (e.HResult & 0xFFFF) is 32 or 33
            : e.HResult is 11 or 35);
}
