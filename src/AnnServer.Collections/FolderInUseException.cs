namespace AnnServer.Collections;

/// <summary>A <see cref="FolderLock"/> is held by another process (or another owner in this one).</summary>
public sealed class FolderInUseException(string folder, string lockFile, int? holderPid)
    : IOException($"{folder} is in use by {(holderPid is int pid ? $"process {pid}" : "another process")} (it holds {lockFile})")
{
    public string Folder { get; } = folder;

    /// <summary>The holder's pid, when it could be read.</summary>
    public int? HolderPid { get; } = holderPid;
}
