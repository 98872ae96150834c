using System.Buffers.Binary;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Text;
using AnnServer.Core.Hnsw;

namespace AnnServer.Core.Snapshots;

/// <summary>Writes the snapshot format (see <see cref="SnapshotLayout"/>) while searches and writes go on.</summary>
internal static unsafe class SnapshotWriter
{
    public static void Write(HnswIndex index, string path, long logPosition)
    {
        string fullPath = Path.GetFullPath(path);
        string directory = Path.GetDirectoryName(fullPath)!;
        Directory.CreateDirectory(directory);
        string temporary = Path.Combine(directory, $".{Path.GetFileName(fullPath)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 20))
            {
                WriteTo(index, stream, logPosition);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, fullPath, overwrite: true);
            DirectoryFlush.Flush(directory);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }

    private static void WriteTo(HnswIndex index, FileStream stream, long logPosition)
    {
        GraphStorage storage = index.Storage;
        // Node states and ids are taken together under the index's lock, so every id is live at most once in the file.
        // Vectors and codes never change once a node is allocated, so they are written from where they lie. Link lists
        // change under concurrent inserts: each is copied once, under its node's link lock (an insert rewrites a list in
        // place: copied beside it, the count of one version and the ids of another), cleaned of nodes allocated after the
        // freeze, and the copy is both hashed and written, so the checksum always matches the bytes on disk.
        var frozen = index.FreezeNodeTable();
        int nodes = frozen.States.Length;

        stream.Write(new byte[SnapshotLayout.HeaderLength]);
        var sections = new List<(SnapshotSection Kind, long Offset, long Length, ulong Checksum)>();

        sections.Add(WriteSection(stream, SnapshotSection.Vectors, writer =>
            WriteRows(writer, storage.Vectors, nodes)));
        sections.Add(WriteSection(stream, SnapshotSection.Level0Links, writer =>
        {
            var row = new int[1 + storage.MaxLinks0];
            var later = new int[1 + storage.MaxLinks0];
            var laterList = new int[1 + storage.MaxLinks0];
            for (int node = 0; node < nodes; node++)
            {
                lock (storage.LinkLock(node))
                    new ReadOnlySpan<int>(storage.Links0(node), row.Length).CopyTo(row);
                ReplaceLaterNodes(storage, node, row, nodes, later, laterList);
                writer.Write(MemoryMarshal.AsBytes(row.AsSpan()));
            }
        }));
        sections.Add(WriteSection(stream, SnapshotSection.UpperLinks, writer =>
        {
            for (int node = 0; node < nodes; node++)
            {
                int[]? live = storage.UpperLinks[node];
                if (live is null) continue;
                int[] upper;
                lock (storage.LinkLock(node))
                    upper = live.ToArray();
                for (int start = 0; start < upper.Length; start += storage.UpperLevelStride)
                    KeepUpperLinks(upper.AsSpan(start, storage.UpperLevelStride), nodes, frozen.PendingNodes);
                writer.WriteInt32(node);
                writer.WriteInt32(upper.Length / storage.UpperLevelStride);
                writer.Write(MemoryMarshal.AsBytes(upper.AsSpan()));
            }
        }));
        sections.Add(WriteSection(stream, SnapshotSection.Ids, writer => writer.Write(MemoryMarshal.AsBytes(frozen.Ids.AsSpan()))));
        sections.Add(WriteSection(stream, SnapshotSection.States, writer => writer.Write(MemoryMarshal.AsBytes(frozen.States.AsSpan()))));
        sections.Add(WriteSection(stream, SnapshotSection.Labels, writer =>
        {
            for (int node = 0; node < nodes; node++)
            {
                int[]? labels = storage.Labels[node];
                writer.WriteInt32(labels?.Length ?? 0);
                if (labels is not null) writer.Write(MemoryMarshal.AsBytes(labels.AsSpan()));
            }
        }));

        if (storage.Codes is not null)
            sections.Add(WriteSection(stream, SnapshotSection.QuantizedVectors, writer =>
            {
                if (storage.CodeFileRowBytes == storage.Codes.RowBytes) WriteRows(writer, storage.Codes, nodes);
                else WritePaddedRows(writer, storage.Codes, nodes, storage.CodeFileRowBytes);
            }));
        if (frozen.Payload is { } payload)
            sections.Add(WriteSection(stream, SnapshotSection.Payload, writer => writer.Write(payload)));
        ValueLinks[] valueLinks = ValueLinksSection.Complete(index);
        if (valueLinks.Length > 0)
            sections.Add(WriteSection(stream, SnapshotSection.ValueLinks, writer => ValueLinksSection.Write(writer.Write, valueLinks, nodes)));
        string? sourcePosition = index.SourcePosition;
        if (sourcePosition is not null)
            sections.Add(WriteSection(stream, SnapshotSection.SourcePosition, writer => writer.Write(Encoding.UTF8.GetBytes(sourcePosition))));

        Span<byte> header = stackalloc byte[SnapshotLayout.HeaderLength];
        header.Clear();
        SnapshotLayout.Magic.CopyTo(header);
        // The lowest version that holds what the index has, so that older builds read every file they can.
        int version = valueLinks.Length > 0 ? SnapshotLayout.FormatVersion
            : sourcePosition is not null ? SnapshotLayout.FormatVersionWithSourcePosition
            : frozen.Payload is not null ? SnapshotLayout.FormatVersionWithPayload
            : SnapshotLayout.FormatVersionWithoutPayload;
        BinaryPrimitives.WriteInt32LittleEndian(header[8..], version);
        BinaryPrimitives.WriteInt32LittleEndian(header[12..], SnapshotLayout.HeaderLength);
        BinaryPrimitives.WriteInt32LittleEndian(header[16..], storage.Dimension);
        header[20] = (byte)storage.Metric;
        header[21] = SnapshotLayout.ElementTypeFloat32;
        header[22] = (byte)storage.Quantization;
        BinaryPrimitives.WriteInt32LittleEndian(header[24..], storage.M);
        BinaryPrimitives.WriteInt32LittleEndian(header[28..], storage.EfConstruction);
        BinaryPrimitives.WriteInt32LittleEndian(header[32..], index.RandomSeed);
        BinaryPrimitives.WriteInt64LittleEndian(header[40..], nodes);
        BinaryPrimitives.WriteInt64LittleEndian(header[48..], frozen.LiveCount);
        BinaryPrimitives.WriteInt32LittleEndian(header[56..], frozen.EntryPoint);
        BinaryPrimitives.WriteInt32LittleEndian(header[60..], frozen.TopLevel);
        BinaryPrimitives.WriteInt64LittleEndian(header[64..], logPosition);
        BinaryPrimitives.WriteInt32LittleEndian(header[72..], storage.VectorRowBytes);
        BinaryPrimitives.WriteInt32LittleEndian(header[76..], storage.Level0RowBytes);
        BinaryPrimitives.WriteInt32LittleEndian(header[80..], sections.Count);
        for (int i = 0; i < sections.Count; i++)
        {
            Span<byte> entry = header.Slice(SnapshotLayout.SectionTableOffset + i * SnapshotLayout.SectionEntryLength, SnapshotLayout.SectionEntryLength);
            BinaryPrimitives.WriteUInt32LittleEndian(entry, (uint)sections[i].Kind);
            BinaryPrimitives.WriteInt64LittleEndian(entry[8..], sections[i].Offset);
            BinaryPrimitives.WriteInt64LittleEndian(entry[16..], sections[i].Length);
            BinaryPrimitives.WriteUInt64LittleEndian(entry[24..], sections[i].Checksum);
        }
        BinaryPrimitives.WriteUInt64LittleEndian(header[SnapshotLayout.HeaderChecksumOffset..],
            XxHash64.HashToUInt64(header[..SnapshotLayout.HeaderChecksumOffset]));
        stream.Position = 0;
        stream.Write(header);
    }

    private static (SnapshotSection, long, long, ulong) WriteSection(FileStream stream, SnapshotSection kind, Action<SectionWriter> body)
    {
        long start = SnapshotLayout.Align(stream.Position);
        if (start > stream.Position) stream.Write(new byte[start - stream.Position]);
        var writer = new SectionWriter(stream);
        body(writer);
        return (kind, start, stream.Position - start, writer.Checksum);
    }

    /// <summary>
    /// Makes a copied level-0 list (count, then ids) name only nodes below <paramref name="nodes"/>, each node allocated
    /// after the freeze replaced by the nodes below <paramref name="nodes"/> of its own list, while there is room. The
    /// insert that linked a later node in pruned this list with it, and may have pushed out the one link into a point
    /// that the later node links to now: dropping the later node alone would leave that point with no way in, found by
    /// no search of the loaded index (5 to 18 such points in 500 to 600 snapshots of the loop of
    /// SnapshotsTakenWhileInsertsRunAlwaysLoad before; none since). The later node's list is copied under its lock;
    /// <paramref name="later"/> and <paramref name="laterList"/> are scratch of the list's length.
    /// </summary>
    private static void ReplaceLaterNodes(GraphStorage storage, int node, int[] row, int nodes, int[] later, int[] laterList)
    {
        int count = Math.Clamp(row[0], 0, row.Length - 1);
        int kept = 0, laterCount = 0;
        for (int i = 1; i <= count; i++)
        {
            if ((uint)row[i] < (uint)nodes) row[1 + kept++] = row[i];
            else later[laterCount++] = row[i];
        }
        for (int l = 0; l < laterCount && kept < row.Length - 1; l++)
        {
            lock (storage.LinkLock(later[l]))
                new ReadOnlySpan<int>(storage.Links0(later[l]), laterList.Length).CopyTo(laterList);
            int laterCountOfLinks = Math.Clamp(laterList[0], 0, laterList.Length - 1);
            for (int i = 1; i <= laterCountOfLinks && kept < row.Length - 1; i++)
            {
                int neighbor = laterList[i];
                if ((uint)neighbor < (uint)nodes && neighbor != node && !row.AsSpan(1, kept).Contains(neighbor)) row[1 + kept++] = neighbor;
            }
        }
        row[0] = kept;
        row.AsSpan(1 + kept).Clear();
    }

    /// <summary>
    /// Makes a copied upper-level list (count, then ids) name only nodes below <paramref name="nodes"/> (an upper level
    /// only routes: a later node dropped there loses no point) and none of the <paramref name="pending"/> nodes
    /// (ascending). An insert links its node from the top level down, so a node still pending may have no links yet on
    /// the levels below it, down to level 0. A live index does not descend through a pending node (the greedy descent
    /// of <see cref="HnswGraph{TDistance}"/>), but the file records it as deleted, which a loaded index descends
    /// through: a search that got there ended with nothing to return. Level 0 keeps its links to pending nodes: a search
    /// there goes on from its other candidates. The slots past the count are zeroed: they hold what pruning left there,
    /// which a file has no use for.
    /// </summary>
    private static void KeepUpperLinks(Span<int> list, int nodes, int[] pending)
    {
        int count = Math.Clamp(list[0], 0, list.Length - 1);
        int kept = 0;
        for (int i = 1; i <= count; i++)
            if ((uint)list[i] < (uint)nodes && Array.BinarySearch(pending, list[i]) < 0) list[1 + kept++] = list[i];
        list[0] = kept;
        list[(1 + kept)..].Clear();
    }

    private static void WriteRows(SectionWriter writer, Storage.NativeRowStore rows, int count)
    {
        // Rows are contiguous within a chunk: write a chunk's worth at a time.
        for (int first = 0; first < count; first += rows.RowsPerChunk)
        {
            int inChunk = Math.Min(rows.RowsPerChunk, count - first);
            byte* start = rows.Row(first);
            long bytes = (long)inChunk * rows.RowBytes;
            for (long done = 0; done < bytes; done += int.MaxValue / 2)
                writer.Write(new ReadOnlySpan<byte>(start + done, (int)Math.Min(int.MaxValue / 2, bytes - done)));
        }
    }

    /// <summary>Writes rows each padded with zeros to <paramref name="fileRowBytes"/>: the file's layout of rows that memory packs.</summary>
    private static void WritePaddedRows(SectionWriter writer, Storage.NativeRowStore rows, int count, int fileRowBytes)
    {
        int rowsPerWrite = Math.Max(1, (1 << 20) / fileRowBytes);
        var buffer = new byte[rowsPerWrite * fileRowBytes];
        for (int first = 0; first < count; first += rowsPerWrite)
        {
            int inBuffer = Math.Min(rowsPerWrite, count - first);
            for (int i = 0; i < inBuffer; i++)
                new ReadOnlySpan<byte>(rows.Row(first + i), rows.RowBytes).CopyTo(buffer.AsSpan(i * fileRowBytes));
            writer.Write(buffer.AsSpan(0, inBuffer * fileRowBytes));
        }
    }

    /// <summary>
    /// Writes a section and hashes it in the same pass. Bytes are copied to a buffer first and the copy is both hashed and
    /// written: memory that changes meanwhile (the row of a node being inserted) cannot make the two disagree.
    /// </summary>
    private sealed class SectionWriter(Stream stream)
    {
        private readonly XxHash64 _hash = new();
        private readonly byte[] _buffer = new byte[1 << 20];

        public ulong Checksum => _hash.GetCurrentHashAsUInt64();

        public void Write(ReadOnlySpan<byte> bytes)
        {
            while (!bytes.IsEmpty)
            {
                int length = Math.Min(bytes.Length, _buffer.Length);
                bytes[..length].CopyTo(_buffer);
                _hash.Append(_buffer.AsSpan(0, length));
                stream.Write(_buffer, 0, length);
                bytes = bytes[length..];
            }
        }

        public void WriteInt32(int value)
        {
            Span<byte> bytes = stackalloc byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(bytes, value);
            Write(bytes);
        }
    }
}
