using System.Buffers.Binary;
using System.IO.Hashing;
using AnnServer.Storage;

namespace AnnServer.Cluster.Replication;

/// <summary>
/// The stream sequence a cluster replica's snapshot covers, beside the snapshot (docs/log-format.md, "The replica's
/// stream-sequence file"). The snapshot's header holds the local log position P it covers, and the records after P
/// carry their own stream sequences; but a checkpoint truncates the records before P, so the sequence of the last one
/// must be kept elsewhere: here, paired with P, so that a file that does not belong to the snapshot is recognised.
/// <code>
///  offset size field
///   0     4    magic "ANSQ"
///   4     2    version (1)
///   6     2    reserved, 0
///   8     8    snapshot log position P (int64)
///  16     8    stream sequence S covered by the snapshot (uint64; 0 = none)
///  24     8    XxHash64 (seed 0) of bytes [0, 24)
/// </code>
/// A checkpoint writes <c>stream-sequence.new</c> before it renames the new snapshot into place and renames it over
/// <c>stream-sequence</c> after, so whichever moment a crash hits, one of the two files matches the snapshot's P.
/// </summary>
public static class StreamSequenceFile
{
    public const string FileName = "stream-sequence";
    public const uint Magic = 0x5153_4E41; // "ANSQ" little-endian
    public const ushort Version = 1;
    private const int Size = 32;

    public static string PathIn(string folder) => System.IO.Path.Combine(folder, FileName);

    public static string PendingPathIn(string folder) => PathIn(folder) + ".new";

    /// <summary>Writes (P, S) to <paramref name="path"/> atomically: temporary file, fsync, rename, folder fsync.</summary>
    public static void Write(string path, long snapshotLogPosition, ulong sequence)
    {
        var bytes = new byte[Size];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, Magic);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(4), Version);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(8), snapshotLogPosition);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(16), sequence);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(24), XxHash64.HashToUInt64(bytes.AsSpan(0, 24)));
        string temporary = path + ".tmp";
        using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            stream.Write(bytes);
            stream.Flush(flushToDisk: true);
        }
        File.Move(temporary, path, overwrite: true);
        DirectorySync.Flush(System.IO.Path.GetDirectoryName(path)!);
    }

    /// <summary>(P, S) from <paramref name="path"/>, or null when the file is missing.</summary>
    /// <exception cref="InvalidDataException">the file is damaged; the message names it and the problem.</exception>
    public static (long SnapshotLogPosition, ulong Sequence)? Read(string path)
    {
        if (!File.Exists(path)) return null;
        byte[] bytes = File.ReadAllBytes(path);
        if (bytes.Length != Size)
            throw new InvalidDataException($"{path} has {bytes.Length} bytes, expected {Size}");
        if (BinaryPrimitives.ReadUInt32LittleEndian(bytes) != Magic)
            throw new InvalidDataException($"{path} is not a stream-sequence file (wrong magic)");
        ushort version = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(4));
        if (version != Version)
            throw new InvalidDataException($"{path} has format version {version}; this build reads {Version}");
        if (BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(24)) != XxHash64.HashToUInt64(bytes.AsSpan(0, 24)))
            throw new InvalidDataException($"{path} fails its checksum (damaged)");
        return (BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(8)), BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(16)));
    }

    /// <summary>
    /// The stream sequence covered by the snapshot that covers <paramref name="snapshotLogPosition"/> in
    /// <paramref name="folder"/>: from <c>stream-sequence</c>, or from <c>stream-sequence.new</c> (then promoted) when
    /// a crash came between a checkpoint's two renames. No file at all: 0 (a replica created empty, or a snapshot
    /// written before the replica followed a stream).
    /// </summary>
    /// <exception cref="InvalidDataException">the files exist but none belongs to the snapshot.</exception>
    public static ulong Resolve(string folder, long snapshotLogPosition)
    {
        string path = PathIn(folder), pending = PendingPathIn(folder);
        var current = Read(path);
        if (current is { } c && c.SnapshotLogPosition == snapshotLogPosition)
        {
            if (File.Exists(pending)) File.Delete(pending);
            return c.Sequence;
        }
        var next = File.Exists(pending) ? Read(pending) : null;
        if (next is { } n && n.SnapshotLogPosition == snapshotLogPosition)
        {
            File.Move(pending, path, overwrite: true);
            DirectorySync.Flush(folder);
            return n.Sequence;
        }
        if (current is null && next is null)
            return 0;
        throw new InvalidDataException(
            $"the stream-sequence files in {folder} cover log positions {current?.SnapshotLogPosition.ToString() ?? "-"} and " +
            $"{next?.SnapshotLogPosition.ToString() ?? "-"}, but the snapshot covers {snapshotLogPosition}: they do not belong together; " +
            "delete the replica's folder to have it reloaded from the cluster");
    }
}
