using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;

namespace AnnServer.Storage;

/// <summary>
/// The ranges of a log that a replay found damaged and dropped, kept in the file
/// <c>damaged-ranges</c> beside the log. Why it exists: FASTER cannot cut its tail back, so
/// records appended after a damaged tail land behind it. Without this list the next replay
/// would stop at the same damage again and lose those later, acknowledged records; with it,
/// replay steps over exactly the range that was dropped before and goes on.
/// <code>
///  offset size  field
///   0     4     magic "ANDR" (41 4E 44 52)
///   4     2     format version (1)
///   6     2     reserved, 0
///   8     4     range count n
///  12     4     reserved, 0
///  16     ...   n entries: start int64, end int64 (log positions),
///               reason length int16 (bytes), reason UTF-8
///  L-8    8     XxHash64 (seed 0) of bytes [0, L-8)
/// </code>
/// Rewritten whole, atomically (temporary file, fsync, rename, fsync of the folder).
/// </summary>
internal sealed class DamagedRangeFile
{
    public const string FileName = "damaged-ranges";
    private const uint Magic = 0x52444E41; // "ANDR"
    private const ushort Version = 1;
    private const int MaxReasonBytes = 1000;
    private const int EntryFixedSize = 18;

    private readonly string _path;
    private readonly List<LogDamage> _ranges;

    private DamagedRangeFile(string path, List<LogDamage> ranges)
    {
        _path = path;
        _ranges = ranges;
    }

    public IReadOnlyList<LogDamage> Ranges => _ranges;

    /// <summary>The range that starts exactly at <paramref name="position"/>, if any.</summary>
    public LogDamage? StartingAt(long position) => _ranges.Find(r => r.Position == position);

    /// <summary>The range containing <paramref name="position"/>, if any.</summary>
    public LogDamage? Containing(long position) => _ranges.Find(r => r.Position <= position && position < r.EndPosition);

    public static DamagedRangeFile Load(string directory)
    {
        var path = Path.Combine(directory, FileName);
        if (!File.Exists(path))
            return new DamagedRangeFile(path, []);
        byte[] bytes = File.ReadAllBytes(path);
        try
        {
            return new DamagedRangeFile(path, Parse(bytes));
        }
        catch (Exception e) when (e is FormatException or ArgumentOutOfRangeException)
        {
            throw new CollectionLogCorruptException(
                $"{path} is damaged ({e.Message}); without it replay cannot tell which log ranges were dropped before. " +
                "Restore it from a backup, or delete it to replay up to the first damaged record only.");
        }
    }

    public void Add(LogDamage damage)
    {
        _ranges.Add(damage);
        Save();
    }

    private static List<LogDamage> Parse(byte[] bytes)
    {
        if (bytes.Length < 24)
            throw new FormatException($"file is {bytes.Length} bytes, shorter than 24");
        if (BinaryPrimitives.ReadUInt32LittleEndian(bytes) != Magic)
            throw new FormatException("wrong magic");
        ushort version = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(4));
        if (version != Version)
            throw new FormatException($"format version {version}, this build reads {Version}");
        int body = bytes.Length - 8;
        if (BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(body)) != XxHash64.HashToUInt64(bytes.AsSpan(0, body)))
            throw new FormatException("checksum mismatch");
        int count = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(8));
        if (count < 0 || count > (body - 16) / EntryFixedSize)
            throw new FormatException($"range count {count} does not fit the file");
        var ranges = new List<LogDamage>(count);
        int offset = 16;
        for (int i = 0; i < count; i++)
        {
            if (offset + EntryFixedSize > body)
                throw new FormatException($"range #{i} is cut off");
            long start = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(offset));
            long end = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(offset + 8));
            short reasonLength = BinaryPrimitives.ReadInt16LittleEndian(bytes.AsSpan(offset + 16));
            offset += EntryFixedSize;
            if (start < 0 || end <= start || reasonLength < 0 || offset + reasonLength > body)
                throw new FormatException($"range #{i} is invalid");
            ranges.Add(new LogDamage(start, end, Encoding.UTF8.GetString(bytes, offset, reasonLength)));
            offset += reasonLength;
        }
        if (offset != body)
            throw new FormatException("unexplained bytes before the checksum");
        return ranges;
    }

    private void Save()
    {
        using var buffer = new MemoryStream();
        var header = new byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(header, Magic);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(4), Version);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(8), _ranges.Count);
        buffer.Write(header);
        var entry = new byte[EntryFixedSize];
        foreach (var range in _ranges)
        {
            var reason = Encoding.UTF8.GetBytes(range.Reason);
            if (reason.Length > MaxReasonBytes)
                reason = reason[..MaxReasonBytes]; // may cut a character in two; the reason is for people, not parsed
            BinaryPrimitives.WriteInt64LittleEndian(entry, range.Position);
            BinaryPrimitives.WriteInt64LittleEndian(entry.AsSpan(8), range.EndPosition);
            BinaryPrimitives.WriteInt16LittleEndian(entry.AsSpan(16), (short)reason.Length);
            buffer.Write(entry);
            buffer.Write(reason);
        }
        var checksum = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(checksum, XxHash64.HashToUInt64(buffer.GetBuffer().AsSpan(0, (int)buffer.Length)));
        buffer.Write(checksum);

        var temporary = _path + ".tmp";
        using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            buffer.Position = 0;
            buffer.CopyTo(file);
            file.Flush(flushToDisk: true);
        }
        File.Move(temporary, _path, overwrite: true);
        DirectorySync.Flush(Path.GetDirectoryName(_path)!);
    }
}
