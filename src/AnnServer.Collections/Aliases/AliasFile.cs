using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;
using AnnServer.Storage;

namespace AnnServer.Collections;

/// <summary>
/// The aliases on disk: one small file in the data directory, replaced whole on every change (docs/aliases-format.md).
/// <code>
/// offset  size  field
///      0     8  magic "ANNALIAS" (ASCII)
///      8     4  format version, u32 little-endian: 1
///     12     4  alias count n, u32 little-endian
///     16     …  n entries, sorted by alias (ordinal): alias length u8, alias (ASCII), collection length u8, collection (ASCII)
///  end−8     8  XxHash64 (seed 0) of every byte before it, u64 little-endian
/// </code>
/// Names follow <see cref="CollectionName"/> (1 to 64 ASCII characters), so a length fits a byte. A change is written
/// to <c>aliases.bin.tmp</c>, flushed, renamed over <c>aliases.bin</c> and the folder flushed, before the registry
/// publishes it: a crash leaves the old table or the new one, whole, and an acknowledged change is on disk.
/// </summary>
public static class AliasFile
{
    public const string FileName = "aliases.bin";
    public const uint FormatVersion = 1;
    public static ReadOnlySpan<byte> Magic => "ANNALIAS"u8;

    private const int HeaderBytes = 16;
    private const int ChecksumBytes = 8;
    // 65,536 aliases of 2 × 64 characters: far beyond use, and a damaged count cannot make the reader allocate much.
    private const int MaxFileBytes = HeaderBytes + ChecksumBytes + 65_536 * (2 + 2 * CollectionName.MaxLength);

    public static string PathIn(string dataDirectory) => Path.Combine(dataDirectory, FileName);

    /// <summary>The aliases of the file in <paramref name="dataDirectory"/>; none when there is no file.</summary>
    /// <exception cref="InvalidDataException">the file is damaged or of another version; the message names the file
    /// and what is wrong.</exception>
    public static List<CollectionAlias> Read(string dataDirectory)
    {
        string path = PathIn(dataDirectory);
        if (!File.Exists(path))
            return [];
        long length = LinkedFile.Resolve(path).Length;
        if (length > MaxFileBytes)
            throw Damaged(path, $"it is {length} bytes, more than an alias file can be ({MaxFileBytes})");
        return Parse(File.ReadAllBytes(path), path);
    }

    /// <summary>Replaces the file in <paramref name="dataDirectory"/> with <paramref name="aliases"/>, durably (see the
    /// class remarks).</summary>
    public static void Write(string dataDirectory, IReadOnlyList<CollectionAlias> aliases)
    {
        string path = PathIn(dataDirectory);
        string temporary = path + ".tmp";
        byte[] bytes = Serialize(aliases);
        using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            file.Write(bytes);
            file.Flush(flushToDisk: true);
        }
        File.Move(temporary, path, overwrite: true);
        DirectorySync.Flush(dataDirectory);
    }

    /// <summary>The file's bytes for <paramref name="aliases"/>, sorted by alias.</summary>
    public static byte[] Serialize(IReadOnlyList<CollectionAlias> aliases)
    {
        var sorted = aliases.ToArray();
        Array.Sort(sorted, (a, b) => string.CompareOrdinal(a.Alias, b.Alias));
        var bytes = new MemoryStream();
        Span<byte> header = stackalloc byte[HeaderBytes];
        Magic.CopyTo(header);
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], FormatVersion);
        BinaryPrimitives.WriteUInt32LittleEndian(header[12..], (uint)sorted.Length);
        bytes.Write(header);
        foreach (CollectionAlias alias in sorted)
        {
            WriteName(bytes, alias.Alias);
            WriteName(bytes, alias.Collection);
        }
        Span<byte> checksum = stackalloc byte[ChecksumBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(checksum, XxHash64.HashToUInt64(bytes.GetBuffer().AsSpan(0, (int)bytes.Length)));
        bytes.Write(checksum);
        return bytes.ToArray();
    }

    /// <exception cref="InvalidDataException">see <see cref="Read"/>.</exception>
    public static List<CollectionAlias> Parse(ReadOnlySpan<byte> bytes, string path)
    {
        if (bytes.Length < HeaderBytes + ChecksumBytes)
            throw Damaged(path, $"it is {bytes.Length} bytes, shorter than the smallest alias file ({HeaderBytes + ChecksumBytes})");
        if (!bytes[..8].SequenceEqual(Magic))
            throw Damaged(path, "it does not start with the magic ANNALIAS: it is not an alias file");
        uint version = BinaryPrimitives.ReadUInt32LittleEndian(bytes[8..]);
        if (version != FormatVersion)
            throw Damaged(path, $"its format version is {version}; this server reads version {FormatVersion}");
        int body = bytes.Length - ChecksumBytes;
        ulong expected = BinaryPrimitives.ReadUInt64LittleEndian(bytes[body..]);
        if (XxHash64.HashToUInt64(bytes[..body]) != expected)
            throw Damaged(path, "its checksum does not match its contents");
        uint count = BinaryPrimitives.ReadUInt32LittleEndian(bytes[12..]);
        var aliases = new List<CollectionAlias>();
        int offset = HeaderBytes;
        for (uint i = 0; i < count; i++)
        {
            string alias = ReadName(bytes[..body], ref offset, path, i);
            string collection = ReadName(bytes[..body], ref offset, path, i);
            aliases.Add(new CollectionAlias(alias, collection));
        }
        if (offset != body)
            throw Damaged(path, $"{body - offset} bytes follow its {count} entries");
        return aliases;
    }

    private static void WriteName(MemoryStream bytes, string name)
    {
        bytes.WriteByte(checked((byte)name.Length));
        bytes.Write(Encoding.ASCII.GetBytes(name));
    }

    private static string ReadName(ReadOnlySpan<byte> body, ref int offset, string path, uint entry)
    {
        if (offset >= body.Length)
            throw Damaged(path, $"entry {entry} runs past the end of the file");
        int length = body[offset++];
        if (offset + length > body.Length)
            throw Damaged(path, $"entry {entry} runs past the end of the file");
        string name = Encoding.ASCII.GetString(body.Slice(offset, length));
        offset += length;
        if (CollectionName.Problem(name) is { } problem)
            throw Damaged(path, $"entry {entry}: the name {problem}");
        return name;
    }

    private static InvalidDataException Damaged(string path, string why) =>
        new($"the alias file {path} cannot be read: {why}. Restore it from a backup, or delete it to start with no aliases");
}
