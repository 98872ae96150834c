using System.Buffers.Binary;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.InteropServices;
using System.IO.Hashing;
using System.Text;
using Microsoft.Win32.SafeHandles;
using AnnServer.Core.Hnsw;
using AnnServer.Core.Storage;

namespace AnnServer.Core.Snapshots;

/// <summary>
/// Reads snapshot formats 1 to 5. Every size is checked against the file's length before anything is allocated, so a damaged
/// or crafted file fails with a <see cref="SnapshotFormatException"/> naming the part, never with an out-of-memory.
/// </summary>
/// <remarks>
/// Everything is read with pread into owned memory; the file is mapped only for an index that keeps its vectors there
/// (<see cref="SnapshotMapping"/>). A first touch of a mapped page costs a page fault (on a virtual machine a trap to
/// the hypervisor too), which made hashing 1,000,000 × 128 through a mapping 4× slower than reading the same bytes; and
/// a read past the end of a mapping, of a file cut short meanwhile, kills the process where pread returns short.
/// </remarks>
internal sealed unsafe class SnapshotReader : IDisposable
{
    /// <summary>Bytes a checksum, or a copy of padded rows, reads at a time: a buffer that stays in the core's L2 while it
    /// is hashed or copied from.</summary>
    private const int PieceBytes = 1 << 20;

    private readonly string _path;
    private readonly SafeFileHandle _handle;
    private int _threads = Environment.ProcessorCount;

    private SnapshotReader(string path)
    {
        _path = path;
        // The length of the file opened, not of the path: FileInfo gives a symbolic link's own length (current.snap -> v42.snap).
        _handle = File.OpenHandle(path);
        try
        {
            long length = RandomAccess.GetLength(_handle);
            if (length < SnapshotLayout.HeaderLength)
                throw Fail($"the file is {length} bytes, shorter than the {SnapshotLayout.HeaderLength}-byte header: truncated or not a snapshot");
            FileLength = length;
            Header = ReadHeader();
        }
        catch
        {
            _handle.Dispose();
            throw;
        }
    }

    public long FileLength { get; }
    public SnapshotHeader Header { get; }

    public static SnapshotReader Open(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"snapshot {path} does not exist", path);
        return new SnapshotReader(path);
    }

    public bool ChecksumHolds(SnapshotSectionEntry section)
    {
        var hash = new XxHash64();
        byte[] piece = GC.AllocateUninitializedArray<byte>((int)Math.Min(PieceBytes, Math.Max(section.Length, 1)));
        for (long done = 0; done < section.Length;)
        {
            Span<byte> read = piece.AsSpan(0, (int)Math.Min(piece.Length, section.Length - done));
            if (!TryReadAt(section.Offset + done, read)) return false; // the file was cut short since it was opened
            hash.Append(read);
            done += read.Length;
        }
        return hash.GetCurrentHashAsUInt64() == section.Checksum;
    }

    /// <summary>Builds the index. With <paramref name="mapVectors"/> the vectors stay in the file, mapped, the mapping owned by the index.
    /// With <paramref name="encodeAs"/>, a float32 snapshot is loaded as an index of that quantization, its codes computed
    /// from the vectors (the same links: what a build in that mode would have made, as builds link on float32).</summary>
    /// <remarks>
    /// With more than one load thread, the checksums are hashed on half of them while the other half builds the index
    /// from the same file, and the index is handed out only once every checksum holds: the hash is one sequential pass
    /// over the whole file (0.12-0.15 s for 1,000,000 × 128, 662 MB, read with pread), a third of a mapped load.
    /// </remarks>
    public HnswIndex BuildIndex(bool verifyChecksums, bool mapVectors, int threads = 0, VectorQuantization? encodeAs = null)
    {
        int cores = threads > 0 ? Math.Min(threads, Environment.ProcessorCount) : Environment.ProcessorCount;
        SnapshotHeader header = Header;
        if (encodeAs is { } wanted && wanted != header.Quantization && header.Quantization != VectorQuantization.None)
            throw new ArgumentException($"the snapshot has quantization {header.Quantization}: only a float32 snapshot (None) can be encoded as {wanted}", nameof(encodeAs));
        Task<int>? firstDamaged = null;
        _threads = cores;
        if (verifyChecksums && cores > 1)
        {
            int hashing = cores / 2;
            _threads = cores - hashing;
            firstDamaged = Task.Factory.StartNew(() => FirstDamagedSection(header.Sections, hashing),
                CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }
        else if (verifyChecksums)
        {
            ThrowIfDamaged(header.Sections, FirstDamagedSection(header.Sections, cores));
        }

        int nodes = checked((int)header.NodeCount);
        bool encodesCodes = encodeAs is { } kind && kind != header.Quantization;
        var storage = new GraphStorage(header.Dimension, header.Metric, header.M, header.EfConstruction, encodeAs ?? header.Quantization);
        try
        {
            if (storage.VectorRowBytes != header.VectorRowBytes || storage.Level0RowBytes != header.Level0RowBytes)
                throw Fail($"row sizes {header.VectorRowBytes}/{header.Level0RowBytes} do not match dimension {header.Dimension} and M {header.M}");

            var vectors = Section(SnapshotSection.Vectors, (long)nodes * header.VectorRowBytes);
            SnapshotMapping? mapping = null;
            if (mapVectors)
            {
                mapping = new SnapshotMapping(_handle);
                storage.Backing = mapping;
                storage.Vectors.AdoptRegion(mapping.Base + vectors.Offset, nodes);
            }
            else
            {
                CopyRows(storage.Vectors, vectors, nodes);
            }
            if (encodesCodes)
            {
                EncodeCodes(storage, nodes);
            }
            else if (storage.Codes is not null)
            {
                // The codes are what a quantized search walks, so they are read into memory (huge pages) even when the
                // vectors stay in the file: there only the re-rank reads them, a few per search.
                int fileRowBytes = storage.CodeFileRowBytes;
                var codes = Section(SnapshotSection.QuantizedVectors, (long)nodes * fileRowBytes);
                if (fileRowBytes == storage.Codes.RowBytes) CopyRows(storage.Codes, codes, nodes);
                else CopyPaddedRows(storage.Codes, codes, nodes, fileRowBytes);
            }
            var level0Links = Section(SnapshotSection.Level0Links, (long)nodes * header.Level0RowBytes);
            if (mapping is not null && level0Links.Length > 0)
            {
                // The lists are used in place too: copying them was the largest part of a mapped load (50-220 ms of
                // 132 MB at 1,000,000 nodes), and searches walk them on 4 KiB pages at about the speed of owned ones
                // (1M × 128, mapped, ef 64, QPS against copied lists: float32 1.005 in 4 pairs, int8 1.02 in 10,
                // 0.77-1.21). An insert's changes to them go to private copies of their pages (a copy-on-write view),
                // never to the file.
                byte* lists = mapping.MapPrivate(level0Links.Offset, level0Links.Length);
                storage.Level0Links.AdoptRegion(lists, nodes);
                MappedPages.Populate(lists, level0Links.Length);
            }
            else
            {
                CopyRows(storage.Level0Links, level0Links, nodes);
            }
            storage.EnsureCapacity(nodes);

            ReadIdsAndStates(storage, nodes);
            byte[] levels = ReadUpperLinks(storage, nodes);
            ReadLabels(storage, nodes);
            ValidateLinks(storage, nodes, mapping is null ? null : level0Links, levels);

            storage.SetNodeCountForRestore(nodes);
            if (header.EntryPoint >= 0)
            {
                if (header.EntryPoint >= nodes || storage.LevelOf(header.EntryPoint) != header.TopLevel)
                    throw Fail($"entry point {header.EntryPoint} at level {header.TopLevel} does not match the graph");
                storage.SetEntryPoint(header.EntryPoint, header.TopLevel);
            }
            else if (nodes > 0)
            {
                throw Fail($"the header names no entry point but the graph has {nodes} nodes");
            }
            string? sourcePosition = ReadSourcePosition();
            Payloads.PayloadStore? payloads = ReadPayload(nodes);
            List<ValueLinks> valueLinks = ReadValueLinks(nodes, header.M, payloads);
            var index = new HnswIndex(storage, header.RandomSeed, payloads) { SourcePosition = sourcePosition };
            foreach (ValueLinks links in valueLinks) index.AdoptValueLinks(links);
            // Every search of a float32 index walks these rows; a quantized one reads them only to re-rank. Mapped in
            // before the wait for the hashing, which is sometimes the last to end.
            if (mapping is not null && storage.Codes is null) MappedPages.Populate(mapping.Base + vectors.Offset, vectors.Length);
            // Searches only start once the index is returned, so nothing has read what a damaged section held.
            if (firstDamaged is not null) ThrowIfDamaged(header.Sections, firstDamaged.GetAwaiter().GetResult());
            return index;
        }
        catch
        {
            // The hashing reads the file, which must stay open until it ends; and a damaged section is the better reason to
            // give than what the damage made the build trip over.
            int damaged = firstDamaged is null ? -1 : firstDamaged.GetAwaiter().GetResult();
            storage.Dispose();
            ThrowIfDamaged(header.Sections, damaged);
            throw;
        }
    }

    private void EncodeCodes(GraphStorage storage, int nodes)
    {
        storage.Codes!.EnsureCapacity(nodes);
        int ranges = Math.Clamp(nodes / (1 << 14), 1, _threads);
        Parallel.For(0, ranges, new ParallelOptions { MaxDegreeOfParallelism = _threads }, range =>
        {
            int to = (int)((long)nodes * (range + 1) / ranges);
            for (int node = (int)((long)nodes * range / ranges); node < to; node++) storage.EncodeCodes(node);
        });
    }

    /// <summary>Reads the ids and states straight into their chunks: no copy of either section is made first, so the load
    /// touches no memory beyond the storage's own (on a VM where first touch of a page costs 13-15 µs, 9 MB less of it
    /// at 1,000,000 nodes). A state other than Live reads as Deleted.</summary>
    private void ReadIdsAndStates(GraphStorage storage, int nodes)
    {
        var ids = Section(SnapshotSection.Ids, (long)nodes * sizeof(long));
        var states = Section(SnapshotSection.States, nodes);
        int chunks = (nodes + NativeChunkedArray<long>.ChunkSize - 1) >> NativeChunkedArray<long>.ChunkShift;
        OnLoadThreads(chunks, chunk =>
        {
            int first = chunk << NativeChunkedArray<long>.ChunkShift;
            int inChunk = Math.Min(NativeChunkedArray<long>.ChunkSize, nodes - first);
            ReadExactly(ids, (long)first * sizeof(long), MemoryMarshal.AsBytes(storage.Ids.Chunk(chunk)[..inChunk]));
            Span<NodeState> chunkStates = storage.States.Chunk(chunk)[..inChunk];
            ReadExactly(states, first, MemoryMarshal.AsBytes(chunkStates));
            foreach (ref NodeState state in chunkStates)
                state = state == NodeState.Live ? NodeState.Live : NodeState.Deleted;
        });
    }

    /// <summary>Reads the upper levels' lists; returns each node's level, for the links' validation.</summary>
    private byte[] ReadUpperLinks(GraphStorage storage, int nodes)
    {
        var levels = new byte[nodes];
        using NativeSectionBytes section = ReadSectionNative(Section(SnapshotSection.UpperLinks, expectedLength: -1));
        ReadOnlySpan<byte> bytes = section.Span;
        int stride = storage.UpperLevelStride;
        int position = 0;
        int previous = -1;
        while (position < bytes.Length)
        {
            if (bytes.Length - position < 8) throw Fail("section UpperLinks ends inside a record");
            int node = BinaryPrimitives.ReadInt32LittleEndian(bytes[position..]);
            int level = BinaryPrimitives.ReadInt32LittleEndian(bytes[(position + 4)..]);
            position += 8;
            if (node <= previous || node >= nodes) throw Fail($"section UpperLinks names node {node} out of order or range");
            if (level < 1 || level > 64) throw Fail($"section UpperLinks gives node {node} an impossible level {level}");
            long length = (long)level * stride * sizeof(int);
            if (length > bytes.Length - position) throw Fail($"section UpperLinks: node {node}'s lists run past the section");
            storage.UpperLinks[node] = Cast<int>(bytes.Slice(position, (int)length)).ToArray();
            levels[node] = (byte)level;
            position += (int)length;
            previous = node;
        }
        return levels;
    }

    private void ReadLabels(GraphStorage storage, int nodes)
    {
        using NativeSectionBytes section = ReadSectionNative(Section(SnapshotSection.Labels, expectedLength: -1));
        ReadOnlySpan<byte> bytes = section.Span;
        int position = 0;
        for (int node = 0; node < nodes; node++)
        {
            if (bytes.Length - position < 4) throw Fail($"section Labels ends before node {node}");
            int count = BinaryPrimitives.ReadInt32LittleEndian(bytes[position..]);
            position += 4;
            if (count < 0 || (long)count * 4 > bytes.Length - position) throw Fail($"section Labels: node {node} has an impossible label count {count}");
            if (count > 0) storage.Labels[node] = Cast<int>(bytes.Slice(position, count * 4)).ToArray();
            position += count * 4;
        }
        if (position != bytes.Length) throw Fail("section Labels is longer than its nodes' labels");
    }

    /// <summary>The payload columns (version 3); none in older versions, or when the index had no payload fields.</summary>
    private Payloads.PayloadStore? ReadPayload(int nodes)
    {
        if (Header.FormatVersion < 3) return null;
        foreach (var section in Header.Sections)
            if (section.Kind == SnapshotSection.Payload) return PayloadSection.Read(ReadSection(section), nodes, Fail);
        return null;
    }

    /// <summary>The linked fields' links (version 5); none in older versions, or when the index had no linked fields.</summary>
    private List<ValueLinks> ReadValueLinks(int nodes, int m, Payloads.PayloadStore? payloads)
    {
        if (Header.FormatVersion < 5) return [];
        foreach (var section in Header.Sections)
        {
            if (section.Kind != SnapshotSection.ValueLinks) continue;
            List<ValueLinks> tables = ValueLinksSection.Read(ReadSection(section), nodes, m, Fail);
            foreach (ValueLinks links in tables)
                if (payloads?.Column(links.Field) is { Kind: not Payloads.PayloadKind.Keyword } column)
                    throw Fail($"section ValueLinks links field '{links.Field}', which holds {column.Kind} values, not keywords");
            return tables;
        }
        return [];
    }

    /// <summary>The linked keyword fields (version 5), their rows skipped: for <c>ann-build info</c> and a cluster import.</summary>
    public IReadOnlyList<string> DescribeLinkedFields()
    {
        if (Header.FormatVersion < 5) return [];
        foreach (var section in Header.Sections)
            if (section.Kind == SnapshotSection.ValueLinks) return ValueLinksSection.FieldNames(ReadSection(section), checked((int)Header.NodeCount), Fail);
        return [];
    }

    /// <summary>The payload fields with their kinds and counts, for <c>ann-build info</c>: the section is read as a load reads it.</summary>
    public IReadOnlyList<SnapshotPayloadField>? DescribePayload()
    {
        int nodes = checked((int)Header.NodeCount);
        if (ReadPayload(nodes) is not { } payloads) return null;
        var fields = new List<SnapshotPayloadField>(payloads.Columns.Count);
        foreach (var column in payloads.Columns)
        {
            long points = 0;
            for (int node = 0; node < nodes; node++)
                if (column.IsPresent(node)) points++;
            int keywords = column switch
            {
                Payloads.KeywordColumn k => k.Dictionary.Count,
                Payloads.KeywordListColumn l => l.Dictionary.Count,
                _ => 0,
            };
            fields.Add(new SnapshotPayloadField(column.Name, column.Kind, points, keywords));
        }
        return fields;
    }

    /// <summary>The upstream position the index was built as of (version 4); null in older versions, or when none was given.</summary>
    public string? ReadSourcePosition()
    {
        if (Header.FormatVersion < 4) return null;
        foreach (var section in Header.Sections)
        {
            if (section.Kind != SnapshotSection.SourcePosition) continue;
            if (section.Length is < 1 or > Snapshot.MaxSourcePositionBytes)
                throw Fail($"section SourcePosition is {section.Length} bytes; a source position is 1 to {Snapshot.MaxSourcePositionBytes} bytes");
            try
            {
                return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(ReadSection(section));
            }
            catch (DecoderFallbackException)
            {
                throw Fail("section SourcePosition is not UTF-8");
            }
        }
        return null;
    }

    /// <summary>
    /// Every link must name a node of the file, or a search would read outside the vectors. The level-0 lists, one per
    /// node, are checked in ranges of nodes on the load's threads (every core at start, when nothing is served yet): a
    /// load is mostly this, the checksums and the copies. The in-link counts are not in the file; the graph counts them
    /// at its first insert (<see cref="GraphStorage.EnsureInLinksCounted"/>), which a read-only collection never makes.
    /// </summary>
    private void ValidateLinks(GraphStorage storage, int nodes, SnapshotSectionEntry? mappedLevel0, byte[] levels)
    {
        int ranges = Math.Clamp(nodes / NodesPerLinkRange, 1, _threads);
        OnLoadThreads(ranges, range =>
        {
            int from = (int)((long)nodes * range / ranges), to = (int)((long)nodes * (range + 1) / ranges);
            if (mappedLevel0 is { } section) ValidateLevel0LinksInFile(section, storage, nodes, from, to);
            else ValidateLevel0LinksInMemory(storage, nodes, from, to);
        });
        storage.MarkInLinksUncounted();
        ValidateUpperLinks(storage, levels);
    }

    /// <summary>Checks that each upper level's link names a node on that level, by <paramref name="levels"/>, which fits in
    /// cache where the nodes' lists (<see cref="GraphStorage.LevelOf"/>) cost two misses a link.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ValidateUpperLinks(GraphStorage storage, byte[] levels)
    {
        for (int node = 0; node < levels.Length; node++)
        {
            if (levels[node] == 0) continue;
            int[] upper = storage.UpperLinks[node]!;
            for (int start = 0; start < upper.Length; start += storage.UpperLevelStride)
            {
                int count = upper[start];
                if ((uint)count > (uint)storage.M) throw Fail($"section UpperLinks: node {node} has {count} links on a level, at most {storage.M} allowed");
                int level = start / storage.UpperLevelStride + 1;
                for (int i = 1; i <= count; i++)
                {
                    int neighbor = upper[start + i];
                    if ((uint)neighbor >= (uint)levels.Length || levels[neighbor] < level)
                        throw Fail($"section UpperLinks: node {node} links on level {level} to node {neighbor}, which is not on that level");
                }
            }
        }
    }

    /// <summary>Nodes below which one core checks all level-0 lists: starting another costs more than it saves.</summary>
    private const int NodesPerLinkRange = 1 << 16;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ValidateLevel0LinksInMemory(GraphStorage storage, int nodes, int from, int to)
    {
        for (int node = from; node < to; node++) ValidateLevel0List((uint*)storage.Links0(node), node, nodes, storage.MaxLinks0);
    }

    /// <summary>
    /// Checks the level-0 lists of nodes [<paramref name="from"/>, <paramref name="to"/>) of a load that maps them, read
    /// again with pread into a buffer that stays in cache: read through the mapping, on 4 KiB pages where the hardware's
    /// prefetch stops at every page, the same check took 80-170 ms at 1,000,000 nodes against 25-50 from memory of our own.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ValidateLevel0LinksInFile(SnapshotSectionEntry section, GraphStorage storage, int nodes, int from, int to)
    {
        int rowBytes = storage.Level0RowBytes;
        int rowsPerRead = Math.Max(1, PieceBytes / rowBytes);
        byte[] buffer = GC.AllocateUninitializedArray<byte>(rowsPerRead * rowBytes, pinned: true);
        fixed (byte* rows = buffer)
        {
            for (int first = from; first < to; first += rowsPerRead)
            {
                int inRead = Math.Min(rowsPerRead, to - first);
                ReadExactly(section, (long)first * rowBytes, buffer.AsSpan(0, inRead * rowBytes));
                for (int row = 0; row < inRead; row++) ValidateLevel0List((uint*)(rows + (long)row * rowBytes), first + row, nodes, storage.MaxLinks0);
            }
        }
    }

    /// <summary>Checks one level-0 list eight links at a time: a load of 1,000,000 nodes checks 32 million links.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void ValidateLevel0List(uint* links, int node, int nodes, int maxLinks)
    {
        uint count = links[0];
        if (count > (uint)maxLinks) throw DamagedLevel0List(links, node, nodes, maxLinks);
        // Whole vectors of a list only: the last one must not read past the row, which ends with the list.
        uint inVectors = (uint)maxLinks / (uint)Vector256<uint>.Count * (uint)Vector256<uint>.Count;
        var limit = Vector256.Create((uint)nodes);
        var beyond = Vector256<uint>.Zero;
        uint i = 0;
        for (; i < inVectors && i < count; i += (uint)Vector256<uint>.Count)
        {
            var listed = Vector256.LessThan(Vector256<uint>.Indices, Vector256.Create(count - i));
            beyond |= Vector256.GreaterThanOrEqual(Vector256.Load(links + 1 + i), limit) & listed;
        }
        bool outOfRange = beyond != Vector256<uint>.Zero;
        for (; i < count; i++) outOfRange |= links[1 + i] >= (uint)nodes;
        if (outOfRange) throw DamagedLevel0List(links, node, nodes, maxLinks);
    }

    /// <summary>What is wrong with a list <see cref="ValidateLevel0List"/> refused. Not inlined into the check: its message's
    /// locals, zeroed on every list, took most of the check's time.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private SnapshotFormatException DamagedLevel0List(uint* links, int node, int nodes, int maxLinks)
    {
        if (links[0] > (uint)maxLinks) return Fail($"section Level0Links: node {node} has {(int)links[0]} links, at most {maxLinks} allowed");
        for (uint i = 1; i <= links[0]; i++)
            if (links[i] >= (uint)nodes) return Fail($"section Level0Links: node {node} links to node {(int)links[i]}, beyond the {nodes} nodes");
        throw new UnreachableException();
    }

    /// <summary>
    /// Every section's checksum, the sections hashed on <paramref name="threads"/> threads at once, largest first (the hash
    /// of one section is sequential: with the vectors a thread's whole share, the others take the rest). Returns the
    /// first damaged section in file order, the one a failure names, or -1.
    /// </summary>
    private int FirstDamagedSection(IReadOnlyList<SnapshotSectionEntry> sections, int threads)
    {
        var intact = new bool[sections.Count];
        var largestFirst = new int[sections.Count];
        for (int i = 0; i < largestFirst.Length; i++) largestFirst[i] = i;
        Array.Sort(largestFirst, (a, b) => sections[b].Length.CompareTo(sections[a].Length));
        OnThreads(threads, largestFirst.Length, i => intact[largestFirst[i]] = ChecksumHolds(sections[largestFirst[i]]));
        return Array.IndexOf(intact, false);
    }

    private void ThrowIfDamaged(IReadOnlyList<SnapshotSectionEntry> sections, int firstDamaged)
    {
        if (firstDamaged >= 0) throw Fail($"section {sections[firstDamaged].Kind} fails its checksum: the file is damaged");
    }

    /// <summary>Reads a section of rows into owned memory, a chunk per load thread at a time: most of a copy's time is the kernel
    /// zeroing the new pages on first touch, which every thread can do at once.</summary>
    private void CopyRows(NativeRowStore rows, SnapshotSectionEntry section, int count)
    {
        rows.EnsureCapacity(count);
        int chunks = (int)(((long)count + rows.RowsPerChunk - 1) / rows.RowsPerChunk);
        OnLoadThreads(chunks, chunk =>
        {
            int first = chunk * rows.RowsPerChunk;
            int inChunk = Math.Min(rows.RowsPerChunk, count - first);
            ReadExactly(section, (long)first * rows.RowBytes, new Span<byte>(rows.Row(first), checked(inChunk * rows.RowBytes)));
        });
    }

    /// <summary>Reads rows stored each padded to <paramref name="fileRowBytes"/> into a store that packs them, a chunk per
    /// load thread at a time, through a buffer of whole file rows.</summary>
    private void CopyPaddedRows(NativeRowStore rows, SnapshotSectionEntry section, int count, int fileRowBytes)
    {
        rows.EnsureCapacity(count);
        int chunks = (int)(((long)count + rows.RowsPerChunk - 1) / rows.RowsPerChunk);
        int rowsPerRead = Math.Max(1, PieceBytes / fileRowBytes);
        OnLoadThreads(chunks, chunk =>
        {
            byte[] buffer = GC.AllocateUninitializedArray<byte>(rowsPerRead * fileRowBytes);
            int end = Math.Min((chunk + 1) * rows.RowsPerChunk, count);
            for (int first = chunk * rows.RowsPerChunk; first < end; first += rowsPerRead)
            {
                int inRead = Math.Min(rowsPerRead, end - first);
                ReadExactly(section, (long)first * fileRowBytes, buffer.AsSpan(0, inRead * fileRowBytes));
                for (int row = 0; row < inRead; row++)
                    buffer.AsSpan(row * fileRowBytes, rows.RowBytes).CopyTo(new Span<byte>(rows.Row(first + row), rows.RowBytes));
            }
        });
    }

    /// <summary>Fills <paramref name="destination"/> from the section, starting <paramref name="offset"/> bytes into it.</summary>
    private void ReadExactly(SnapshotSectionEntry section, long offset, Span<byte> destination)
    {
        if (!TryReadAt(section.Offset + offset, destination))
            throw Fail($"section {section.Kind} ends early: the file was cut short while it was loaded");
    }

    /// <summary>Fills <paramref name="destination"/> from the file at <paramref name="position"/>; false if the file ends first.</summary>
    private bool TryReadAt(long position, Span<byte> destination)
    {
        while (!destination.IsEmpty)
        {
            int read = RandomAccess.Read(_handle, destination, position);
            if (read == 0) return false;
            destination = destination[read..];
            position += read;
        }
        return true;
    }

    /// <summary>Runs <paramref name="body"/> for 0 to <paramref name="count"/> - 1 on the load's cores (lower indexes tend to
    /// start first); a failure is thrown as itself (a <see cref="SnapshotFormatException"/> stays one), not wrapped.</summary>
    private void OnLoadThreads(int count, Action<int> body) => OnThreads(_threads, count, body);

    private static void OnThreads(int threads, int count, Action<int> body)
    {
        try
        {
            Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = threads }, body);
        }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerExceptions[0]);
        }
    }

    private SnapshotSectionEntry Section(SnapshotSection kind, long expectedLength)
    {
        foreach (var section in Header.Sections)
        {
            if (section.Kind != kind) continue;
            if (expectedLength >= 0 && section.Length != expectedLength)
                throw Fail($"section {kind} is {section.Length} bytes, expected {expectedLength} for {Header.NodeCount} nodes");
            return section;
        }
        throw Fail($"section {kind} is missing");
    }

    /// <summary>A section parsed whole (not the row sections, which are read into their stores): read into a new array.</summary>
    private byte[] ReadSection(SnapshotSectionEntry section)
    {
        ThrowIfTooLongForOnePiece(section);
        byte[] bytes = GC.AllocateUninitializedArray<byte>((int)section.Length);
        ReadExactly(section, 0, bytes);
        return bytes;
    }

    private void ThrowIfTooLongForOnePiece(SnapshotSectionEntry section)
    {
        if (section.Length > Array.MaxLength)
            throw Fail($"section {section.Kind} is {section.Length} bytes, more than this build reads as one piece (2 GiB)");
    }

    /// <summary>A section parsed whole and then dropped, read into native memory (<see cref="NativeSectionBytes"/>).</summary>
    private NativeSectionBytes ReadSectionNative(SnapshotSectionEntry section)
    {
        ThrowIfTooLongForOnePiece(section);
        var bytes = new NativeSectionBytes(section.Length);
        try
        {
            ReadExactly(section, 0, bytes.Span);
            return bytes;
        }
        catch
        {
            bytes.Dispose();
            throw;
        }
    }

    private static ReadOnlySpan<T> Cast<T>(ReadOnlySpan<byte> bytes) where T : struct =>
        System.Runtime.InteropServices.MemoryMarshal.Cast<byte, T>(bytes);

    private SnapshotHeader ReadHeader()
    {
        ReadOnlySpan<byte> header = ReadHeaderBytes();
        if (!header[..8].SequenceEqual(SnapshotLayout.Magic))
            throw Fail("wrong magic number: not an AnnServer snapshot");
        int version = BinaryPrimitives.ReadInt32LittleEndian(header[8..]);
        if (version > SnapshotLayout.FormatVersion)
            throw Fail($"format version {version} is newer than this build reads ({SnapshotLayout.FormatVersion}): upgrade AnnServer");
        if (version < 1)
            throw Fail($"format version {version} is not valid");
        if (BinaryPrimitives.ReadInt32LittleEndian(header[12..]) != SnapshotLayout.HeaderLength)
            throw Fail("the header length field is wrong: the header is damaged");
        if (XxHash64.HashToUInt64(header[..SnapshotLayout.HeaderChecksumOffset]) != BinaryPrimitives.ReadUInt64LittleEndian(header[SnapshotLayout.HeaderChecksumOffset..]))
            throw Fail("the header fails its checksum: the file is damaged");

        int dimension = BinaryPrimitives.ReadInt32LittleEndian(header[16..]);
        var metric = (DistanceMetric)header[20];
        int m = BinaryPrimitives.ReadInt32LittleEndian(header[24..]);
        int efConstruction = BinaryPrimitives.ReadInt32LittleEndian(header[28..]);
        try
        {
            new HnswOptions { Dimension = dimension, Metric = metric, M = m, EfConstruction = efConstruction }.Validate();
        }
        catch (ArgumentException e)
        {
            throw Fail($"the header holds invalid parameters: {e.Message}");
        }
        if (header[21] != SnapshotLayout.ElementTypeFloat32)
            throw Fail($"element type {header[21]} is not supported by this build");
        var quantization = version >= 2 ? (VectorQuantization)header[22] : VectorQuantization.None;
        if (!Enum.IsDefined(quantization))
            throw Fail($"quantization {header[22]} is not supported by this build");

        long nodeCount = BinaryPrimitives.ReadInt64LittleEndian(header[40..]);
        if (nodeCount < 0 || nodeCount > int.MaxValue)
            throw Fail($"node count {nodeCount} is out of range");
        int sectionCount = BinaryPrimitives.ReadInt32LittleEndian(header[80..]);
        if (sectionCount < 0 || sectionCount > SnapshotLayout.MaxSections)
            throw Fail($"section count {sectionCount} is out of range");
        var sections = new List<SnapshotSectionEntry>(sectionCount);
        for (int i = 0; i < sectionCount; i++)
        {
            var entry = header.Slice(SnapshotLayout.SectionTableOffset + i * SnapshotLayout.SectionEntryLength);
            var kind = (SnapshotSection)BinaryPrimitives.ReadUInt32LittleEndian(entry);
            long offset = BinaryPrimitives.ReadInt64LittleEndian(entry[8..]);
            long length = BinaryPrimitives.ReadInt64LittleEndian(entry[16..]);
            if (offset < SnapshotLayout.HeaderLength || length < 0 || offset > FileLength || length > FileLength - offset)
                throw Fail($"section {kind} (offset {offset}, {length} bytes) lies outside the {FileLength}-byte file: truncated?");
            sections.Add(new SnapshotSectionEntry(kind, offset, length, BinaryPrimitives.ReadUInt64LittleEndian(entry[24..])));
        }

        return new SnapshotHeader(version, dimension, metric, m, efConstruction, quantization,
            RandomSeed: BinaryPrimitives.ReadInt32LittleEndian(header[32..]),
            NodeCount: nodeCount,
            LiveCount: BinaryPrimitives.ReadInt64LittleEndian(header[48..]),
            EntryPoint: BinaryPrimitives.ReadInt32LittleEndian(header[56..]),
            TopLevel: BinaryPrimitives.ReadInt32LittleEndian(header[60..]),
            LogPosition: BinaryPrimitives.ReadInt64LittleEndian(header[64..]),
            VectorRowBytes: BinaryPrimitives.ReadInt32LittleEndian(header[72..]),
            Level0RowBytes: BinaryPrimitives.ReadInt32LittleEndian(header[76..]),
            sections);
    }

    private byte[] ReadHeaderBytes()
    {
        var header = new byte[SnapshotLayout.HeaderLength];
        if (!TryReadAt(0, header))
            throw Fail($"the file ends inside the {SnapshotLayout.HeaderLength}-byte header: truncated or not a snapshot");
        return header;
    }

    private SnapshotFormatException Fail(string message) => new($"{_path}: {message}");

    /// <summary>Closes the file. A mapping made for an index's vectors stays with the index.</summary>
    public void Dispose() => _handle.Dispose();
}

internal sealed record SnapshotSectionEntry(SnapshotSection Kind, long Offset, long Length, ulong Checksum);

internal sealed record SnapshotHeader(int FormatVersion, int Dimension, DistanceMetric Metric, int M, int EfConstruction,
    VectorQuantization Quantization, int RandomSeed,
    long NodeCount, long LiveCount, int EntryPoint, int TopLevel, long LogPosition, int VectorRowBytes, int Level0RowBytes,
    IReadOnlyList<SnapshotSectionEntry> Sections);
