namespace AnnServer.Storage;

/// <summary>
/// The file a path names, through symbolic links. <c>new FileInfo(path)</c> describes a link itself on Linux (.NET reads
/// it with lstat): its <c>Length</c> is the length of the path it holds, not of the file (LinkedFileTests). An operator
/// may place a file the server reads as a link (an alias file, a collection's snapshot kept on another disk).
/// </summary>
public static class LinkedFile
{
    /// <summary>The <see cref="FileInfo"/> of the file at the end of <paramref name="path"/>'s links, or of the path itself
    /// when it is no link; a link to nothing gives a <see cref="FileInfo"/> whose <c>Exists</c> is false.</summary>
    public static FileInfo Resolve(string path)
    {
        var file = new FileInfo(path);
        return file.LinkTarget is not null && file.ResolveLinkTarget(returnFinalTarget: true) is FileInfo target ? target : file;
    }
}
