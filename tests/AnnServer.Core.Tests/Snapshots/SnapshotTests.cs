using System.Buffers.Binary;
using AnnServer.Core;
using AnnServer.Core.Hnsw;
using AnnServer.Core.Snapshots;

namespace AnnServer.Core.Tests.Snapshots;

public sealed class SnapshotTests : IDisposable
{
    private const int Dimension = 24;
    private readonly string _folder = Directory.CreateTempSubdirectory("annserver-snapshot-tests-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string PathOf(string name) => Path.Combine(_folder, name);

    private static HnswIndex BuildIndex(int points = 2_000, DistanceMetric metric = DistanceMetric.L2)
    {
        float[] data = TestData.Clustered(points, Dimension, seed: 41);
        var labels = new int[points][];
        for (int i = 0; i < points; i++) labels[i] = i % 3 == 0 ? [] : [i % 5, 100 + i % 2];
        var index = new HnswIndex(new HnswOptions { Dimension = Dimension, Metric = metric, M = 8, EfConstruction = 50 });
        index.UpsertMany(data, TestData.Ids(points, offset: 1_000_000), labels, threads: 2);
        for (long id = 1_000_000; id < 1_000_000 + points; id += 10) index.Delete(id);
        return index;
    }

    [Theory]
    [InlineData(false, DistanceMetric.L2)]
    [InlineData(true, DistanceMetric.L2)]
    [InlineData(false, DistanceMetric.Cosine)]
    public void SaveThenLoadGivesIdenticalSearchResults(bool readIntoMemory, DistanceMetric metric)
    {
        using var original = BuildIndex(metric: metric);
        Snapshot.Save(original, PathOf("a.snap"), logPosition: 4242);

        var loaded = Snapshot.Load(PathOf("a.snap"), new SnapshotLoadOptions { ReadIntoMemory = readIntoMemory });
        using var copy = loaded.Index;

        Assert.Equal(4242, loaded.LogPosition);
        Assert.Equal(original.Count, copy.Count);
        Assert.Equal(original.NodeCount, copy.NodeCount);
        Assert.Equal(metric, copy.Metric);
        float[] queries = TestData.Clustered(50, Dimension, seed: 42);
        var filter = new SearchFilter([1, 2]);
        for (int q = 0; q < 50; q++)
        {
            var query = TestData.Row(queries, q, Dimension);
            Assert.Equal(original.Search(query, 10, 40), copy.Search(query, 10, 40));
            Assert.Equal(original.Search(query, 10, 40, filter), copy.Search(query, 10, 40, filter));
        }
        var vector = new float[Dimension];
        Assert.True(copy.TryGet(1_000_001, vector, out int[] labels));
        Assert.Equal([1, 101], labels);
        Assert.False(copy.Contains(1_000_000));
    }

    /// <summary>Ids and states are read chunk by chunk (524,288 nodes each) on the load's threads: an index of more than one
    /// chunk, with a partial last one, gets every id and state back. The graph is written directly (one dimension, no
    /// links): an HNSW build of a million points would take a minute of the suite.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public unsafe void EveryIdAndStateOfAnIndexOfSeveralChunksLoads(int threads)
    {
        const int points = 2 * 524_288 + 123;
        const long firstId = 5_000_000_000;
        var storage = new GraphStorage(dimension: 1, DistanceMetric.L2, m: 2, efConstruction: 8);
        storage.EnsureCapacity(points);
        for (int node = 0; node < points; node++)
        {
            *storage.Vector(node) = node;
            *storage.Links0(node) = 0;
            storage.Ids[node] = firstId + node;
            storage.States[node] = node % 7 == 0 ? NodeState.Deleted : NodeState.Live;
        }
        storage.SetNodeCountForRestore(points);
        storage.SetEntryPoint(1, 0);
        using (var original = new HnswIndex(storage, randomSeed: 1)) Snapshot.Save(original, PathOf("chunks.snap"), logPosition: 0);

        using var copy = Snapshot.Load(PathOf("chunks.snap"), new SnapshotLoadOptions { ReadIntoMemory = true, Threads = threads }).Index;

        Assert.Equal(points - (points + 6) / 7, copy.Count);
        var vector = new float[1];
        for (int row = 0; row < points; row++)
        {
            Assert.Equal(row % 7 != 0, copy.TryGet(firstId + row, vector, out _));
            if (row % 7 != 0) Assert.Equal(row, vector[0]);
        }
    }

    [Fact]
    public void ASnapshotLoadsThroughASymbolicLink()
    {
        using var original = BuildIndex(points: 300);
        Snapshot.Save(original, PathOf("v42.snap"));
        File.CreateSymbolicLink(PathOf("current.snap"), "v42.snap");

        using var loaded = Snapshot.Load(PathOf("current.snap")).Index;

        Assert.Equal(original.Count, loaded.Count);
    }

    [Fact]
    public void ALoadedIndexTakesNewInsertsAndDeletes()
    {
        using (var original = BuildIndex(points: 500)) Snapshot.Save(original, PathOf("a.snap"));
        using var index = Snapshot.Load(PathOf("a.snap")).Index;
        float[] fresh = Enumerable.Range(0, Dimension).Select(i => (float)i).ToArray();

        index.Upsert(7, fresh);
        index.Delete(1_000_001);

        Assert.Equal(7, index.Search(fresh, 1, 10)[0].Id);
        Assert.False(index.Contains(1_000_001));
        Snapshot.Save(index, PathOf("b.snap"));
        using var again = Snapshot.Load(PathOf("b.snap")).Index;
        Assert.Equal(index.Count, again.Count);
        Assert.Equal(7, again.Search(fresh, 1, 10)[0].Id);
    }

    /// <summary>A mapped load uses the file's level-0 lists in place (whole chunks of them: 16,384 rows at M 64), and the
    /// inserts that follow change the lists of the nodes they link to: in the process's own copies of those pages, never
    /// in the file, which still loads as it was saved.</summary>
    [Fact]
    public void InsertsIntoAMappedIndexChangeItsListsButNeverTheFile()
    {
        const int Points = 16_384 + 500;
        float[] data = TestData.Clustered(Points, 2, seed: 47);
        using (var original = new HnswIndex(new HnswOptions { Dimension = 2, Metric = DistanceMetric.L2, M = 64, EfConstruction = 16 }))
        {
            original.UpsertMany(data, TestData.Ids(Points), threads: 2);
            Snapshot.Save(original, PathOf("mapped.snap"));
        }
        byte[] saved = File.ReadAllBytes(PathOf("mapped.snap"));

        using (var index = Snapshot.Load(PathOf("mapped.snap"), new SnapshotLoadOptions { ReadIntoMemory = false }).Index)
        {
            float[] fresh = TestData.Clustered(300, 2, seed: 48);
            index.UpsertMany(fresh, TestData.Ids(300, offset: 1_000_000), threads: 2);
            for (int row = 0; row < 300; row += 7)
                Assert.Equal(1_000_000 + row, index.Search(TestData.Row(fresh, row, 2), 1, 64)[0].Id);
            Assert.Equal(Points + 300, index.Count);
        }

        Assert.Equal(saved, File.ReadAllBytes(PathOf("mapped.snap")));
        using var again = Snapshot.Load(PathOf("mapped.snap")).Index;
        Assert.Equal(Points, again.Count);
    }

    [Fact]
    public void AnEmptyIndexRoundTrips()
    {
        using (var empty = new HnswIndex(new HnswOptions { Dimension = 3 })) Snapshot.Save(empty, PathOf("empty.snap"));
        using var loaded = Snapshot.Load(PathOf("empty.snap")).Index;
        Assert.Equal(0, loaded.Count);
        Assert.Empty(loaded.Search([1, 2, 3], 5, 5));
    }

    [Fact]
    public void SaveLeavesNoTemporaryFileBehind()
    {
        using var index = BuildIndex(points: 100);
        Snapshot.Save(index, PathOf("a.snap"));
        Snapshot.Save(index, PathOf("a.snap"));
        Assert.Equal(["a.snap"], Directory.GetFiles(_folder).Select(Path.GetFileName));
    }

    [Fact]
    public void HeaderFieldsStandWhereTheFormatDocumentSaysTheyDo()
    {
        using (var index = BuildIndex(points: 300)) Snapshot.Save(index, PathOf("a.snap"), logPosition: 77);
        byte[] file = File.ReadAllBytes(PathOf("a.snap"));

        Assert.Equal("ANNSNAP\0"u8.ToArray(), file[..8]);
        Assert.Equal(2, BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(8)));
        Assert.Equal(512, BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(12)));
        Assert.Equal(Dimension, BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(16)));
        Assert.Equal((byte)DistanceMetric.L2, file[20]);
        Assert.Equal(0, file[21]);
        Assert.Equal((byte)VectorQuantization.None, file[22]);
        Assert.Equal(8, BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(24)));
        Assert.Equal(50, BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(28)));
        Assert.Equal(300, BinaryPrimitives.ReadInt64LittleEndian(file.AsSpan(40)));
        Assert.Equal(270, BinaryPrimitives.ReadInt64LittleEndian(file.AsSpan(48)));
        Assert.Equal(77, BinaryPrimitives.ReadInt64LittleEndian(file.AsSpan(64)));
        Assert.Equal(128, BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(72))); // 24 floats = 96 bytes, padded to 128
        Assert.Equal(4 * (1 + 16), BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(76)));
        Assert.Equal(6, BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(80)));
        // Section kinds are persisted numbers, in this order, each 64-byte aligned.
        for (int i = 0; i < 6; i++)
        {
            Assert.Equal((uint)(i + 1), BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(88 + 32 * i)));
            Assert.Equal(0, BinaryPrimitives.ReadInt64LittleEndian(file.AsSpan(88 + 32 * i + 8)) % 64);
        }
        Assert.Equal(300L * 128, BinaryPrimitives.ReadInt64LittleEndian(file.AsSpan(88 + 16)));
    }

    [Fact]
    public void InfoReportsTheHeaderAndValidChecksums()
    {
        using (var index = BuildIndex(points: 300)) Snapshot.Save(index, PathOf("a.snap"), logPosition: 9);
        var info = Snapshot.ReadInfo(PathOf("a.snap"));
        Assert.Equal(300, info.NodeCount);
        Assert.Equal(270, info.LiveCount);
        Assert.Equal(Dimension, info.Dimension);
        Assert.Equal(9, info.LogPosition);
        Assert.True(info.AllChecksumsValid);
        Assert.Equal(["Vectors", "Level0Links", "UpperLinks", "Ids", "States", "Labels"], info.Sections.Select(s => s.Name));
    }

    [Theory]
    [InlineData("Vectors", 0)]
    [InlineData("Level0Links", 0)]
    [InlineData("UpperLinks", 0)]
    [InlineData("Ids", 0)]
    [InlineData("States", 0)]
    [InlineData("Labels", 0)]
    [InlineData("Vectors", 1)] // one load thread: the checksums are hashed before the build, not beside it
    [InlineData("Level0Links", 1)]
    public void AFlippedByteInASectionFailsTheLoadNamingTheSection(string section, int threads)
    {
        using (var index = BuildIndex(points: 300)) Snapshot.Save(index, PathOf("a.snap"));
        var entry = Snapshot.ReadInfo(PathOf("a.snap")).Sections.Single(s => s.Name == section);
        byte[] file = File.ReadAllBytes(PathOf("a.snap"));
        file[entry.Offset + entry.Length / 2] ^= 0x40;
        File.WriteAllBytes(PathOf("a.snap"), file);

        var error = Assert.Throws<SnapshotFormatException>(() => Snapshot.Load(PathOf("a.snap"), new SnapshotLoadOptions { Threads = threads }));
        Assert.Contains($"section {section} fails its checksum", error.Message);
        Assert.False(Snapshot.ReadInfo(PathOf("a.snap")).Sections.Single(s => s.Name == section).ChecksumValid);
    }

    [Fact]
    public void AFlippedByteInTheHeaderFailsTheLoad()
    {
        using (var index = BuildIndex(points: 100)) Snapshot.Save(index, PathOf("a.snap"));
        byte[] file = File.ReadAllBytes(PathOf("a.snap"));
        file[44] ^= 1;
        File.WriteAllBytes(PathOf("a.snap"), file);
        Assert.Contains("header fails its checksum", Assert.Throws<SnapshotFormatException>(() => Snapshot.Load(PathOf("a.snap"))).Message);
    }

    [Fact]
    public void ATruncatedFileFailsWithAClearMessage()
    {
        using (var index = BuildIndex(points: 300)) Snapshot.Save(index, PathOf("a.snap"));
        byte[] file = File.ReadAllBytes(PathOf("a.snap"));
        File.WriteAllBytes(PathOf("a.snap"), file[..(file.Length / 2)]);
        Assert.Contains("outside the", Assert.Throws<SnapshotFormatException>(() => Snapshot.Load(PathOf("a.snap"))).Message);

        File.WriteAllBytes(PathOf("a.snap"), file[..100]);
        Assert.Contains("shorter than the 512-byte header", Assert.Throws<SnapshotFormatException>(() => Snapshot.Load(PathOf("a.snap"))).Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AFileCutShortAfterItWasOpenedFailsTheLoadWithAClearMessage(bool verifyChecksums)
    {
        // The large sections are read with pread, not through the mapping: a file cut short under a load fails it with a
        // message, where a read past the end of a mapping would have killed the process (SIGBUS).
        using (var index = BuildIndex(points: 2_000)) Snapshot.Save(index, PathOf("a.snap"));
        using var reader = SnapshotReader.Open(PathOf("a.snap"));
        var vectors = reader.Header.Sections.Single(section => section.Kind == SnapshotSection.Vectors);
        using (var file = File.OpenHandle(PathOf("a.snap"), FileMode.Open, FileAccess.Write))
            RandomAccess.SetLength(file, vectors.Offset + vectors.Length / 2);

        var failure = Assert.Throws<SnapshotFormatException>(() => reader.BuildIndex(verifyChecksums, mapVectors: false, threads: 2));
        Assert.Contains(verifyChecksums ? "section Vectors fails its checksum" : "section Vectors ends early", failure.Message);
    }

    [Fact]
    public void AWrongMagicFailsWithAClearMessage()
    {
        File.WriteAllBytes(PathOf("a.snap"), new byte[4096]);
        Assert.Contains("not an AnnServer snapshot", Assert.Throws<SnapshotFormatException>(() => Snapshot.Load(PathOf("a.snap"))).Message);
    }

    [Fact]
    public void AFutureVersionFailsWithAClearMessage()
    {
        using (var index = BuildIndex(points: 100)) Snapshot.Save(index, PathOf("a.snap"));
        byte[] file = File.ReadAllBytes(PathOf("a.snap"));
        BinaryPrimitives.WriteInt32LittleEndian(file.AsSpan(8), 99);
        File.WriteAllBytes(PathOf("a.snap"), file);
        Assert.Contains("format version 99 is newer", Assert.Throws<SnapshotFormatException>(() => Snapshot.Load(PathOf("a.snap"))).Message);
    }

    [Fact]
    public void AVersion1FileIsStillRead()
    {
        using (var index = BuildIndex(points: 200)) Snapshot.Save(index, PathOf("a.snap"));
        byte[] file = File.ReadAllBytes(PathOf("a.snap"));
        // Version 1 had no quantization byte: the same file, relabelled, is exactly what version 1 wrote.
        BinaryPrimitives.WriteInt32LittleEndian(file.AsSpan(8), 1);
        BinaryPrimitives.WriteUInt64LittleEndian(file.AsSpan(504), System.IO.Hashing.XxHash64.HashToUInt64(file.AsSpan(0, 504)));
        File.WriteAllBytes(PathOf("v1.snap"), file);

        using var loaded = Snapshot.Load(PathOf("v1.snap")).Index;

        Assert.Equal(180, loaded.Count);
        Assert.Equal(VectorQuantization.None, loaded.Quantization);
        Assert.Equal(1, Snapshot.ReadInfo(PathOf("v1.snap")).FormatVersion);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AQuantizedIndexRoundTripsWithItsCodes(bool readIntoMemory)
    {
        float[] data = TestData.Clustered(1_000, Dimension, seed: 43);
        using var original = new HnswIndex(new HnswOptions { Dimension = Dimension, M = 8, EfConstruction = 50, Quantization = VectorQuantization.Int8 });
        original.UpsertMany(data, TestData.Ids(1_000), threads: 2);
        Snapshot.Save(original, PathOf("q.snap"));

        var info = Snapshot.ReadInfo(PathOf("q.snap"));
        using var loaded = Snapshot.Load(PathOf("q.snap"), new SnapshotLoadOptions { ReadIntoMemory = readIntoMemory }).Index;

        Assert.Equal(VectorQuantization.Int8, info.Quantization);
        Assert.Contains(info.Sections, s => s.Name == "QuantizedVectors");
        Assert.Equal(VectorQuantization.Int8, loaded.Quantization);
        float[] queries = TestData.Clustered(20, Dimension, seed: 44);
        for (int q = 0; q < 20; q++)
            Assert.Equal(original.Search(TestData.Row(queries, q, Dimension), 10, 30), loaded.Search(TestData.Row(queries, q, Dimension), 10, 30));
    }

    [Theory]
    [InlineData(VectorQuantization.None)]
    [InlineData(VectorQuantization.Int8)]
    [InlineData(VectorQuantization.Int4)]
    public void TheSameBuildWritesTheSameBytes(VectorQuantization quantization)
    {
        // 24 dimensions: vector rows padded from 96 to 128 bytes, and pruned link lists: neither may carry old memory.
        float[] data = TestData.Clustered(800, Dimension, seed: 47);
        for (int copy = 0; copy < 2; copy++)
        {
            using var index = new HnswIndex(new HnswOptions { Dimension = Dimension, M = 4, EfConstruction = 30, Quantization = quantization });
            index.UpsertMany(data, TestData.Ids(800), threads: 1);
            Snapshot.Save(index, PathOf($"{copy}.snap"));
        }
        Assert.Equal(File.ReadAllBytes(PathOf("0.snap")), File.ReadAllBytes(PathOf("1.snap")));
    }

    [Fact]
    public void QuantizedRowsArePackedInMemoryAndPaddedInTheFile()
    {
        float[] data = TestData.Clustered(500, Dimension, seed: 46);
        using (var original = new HnswIndex(new HnswOptions { Dimension = Dimension, M = 8, EfConstruction = 50, Quantization = VectorQuantization.Int8 }))
        {
            original.UpsertMany(data, TestData.Ids(500), threads: 2);
            Snapshot.Save(original, PathOf("q.snap"));
        }
        using (var loaded = Snapshot.Load(PathOf("q.snap"), new SnapshotLoadOptions { ReadIntoMemory = true }).Index)
            Snapshot.Save(loaded, PathOf("again.snap"));

        // 24 dimensions: 8 bytes of scales and 32 of codes in memory; format version 2's 64-byte rows in the file.
        Assert.Equal(40, AnnServer.Core.Hnsw.Int8Codes.RowBytes(Dimension));
        var section = Snapshot.ReadInfo(PathOf("q.snap")).Sections.Single(s => s.Name == "QuantizedVectors");
        Assert.Equal(500L * 64, section.Length);
        byte[] file = File.ReadAllBytes(PathOf("q.snap"));
        for (int node = 0; node < 500; node++)
            Assert.All(file.AsSpan((int)section.Offset + node * 64 + 40, 24).ToArray(), b => Assert.Equal(0, b));
        // Read and written again, every byte is the same: packing and padding lose nothing.
        Assert.Equal(file, File.ReadAllBytes(PathOf("again.snap")));
    }

    [Fact]
    public async Task SnapshotsTakenWhileInsertsRunAlwaysLoad()
    {
        float[] data = TestData.Clustered(6_000, Dimension, seed: 45);
        using var index = new HnswIndex(new HnswOptions { Dimension = Dimension, M = 8, EfConstruction = 40 });
        index.UpsertMany(data.AsMemory(0, 1_000 * Dimension), TestData.Ids(1_000), threads: 1);
        using var stop = new CancellationTokenSource();
        var writer = Task.Run(() =>
        {
            for (int row = 1_000; row < 6_000 && !stop.IsCancellationRequested; row++) index.Upsert(row, TestData.Row(data, row, Dimension));
        });

        // Save and load over and over for as long as the inserts run (at least five times).
        for (int i = 0; i < 5 || (!writer.IsCompleted && i < 500); i++)
        {
            Snapshot.Save(index, PathOf("live.snap"));
            using var loaded = Snapshot.Load(PathOf("live.snap")).Index;
            Assert.True(loaded.Count >= 1_000);
            Assert.Equal(1, loaded.Search(TestData.Row(data, 1, Dimension), 1, 20)[0].Id);
        }
        stop.Cancel();
        await writer;
    }

    [Fact]
    public unsafe void ANodeLinkedAboveLevelZeroOnlyDoesNotStrandTheSearchesOfTheLoadedIndex()
    {
        float[] data = TestData.Clustered(1_000, Dimension, seed: 48);
        using var index = new HnswIndex(new HnswOptions { Dimension = Dimension, M = 8, EfConstruction = 40 });
        index.UpsertMany(data, TestData.Ids(1_000), threads: 1);
        // An insert caught between its upper levels and level 0, as a snapshot beside inserts may catch one: a pending node
        // on an upper level, nearest to the query there (it lies on it), linked from every list of level 1, with no
        // level-0 links yet.
        GraphStorage storage = index.Storage;
        int halfLinked;
        do halfLinked = storage.AllocateNode(index.RandomSeed);
        while (storage.LevelOf(halfLinked) == 0);
        float[] query = TestData.Row(data, 1, Dimension).ToArray();
        query[0] += 0.01f;
        query.CopyTo(new Span<float>(storage.Vector(halfLinked), Dimension));
        for (int node = 0; node < halfLinked; node++)
        {
            if (storage.UpperLinks[node] is not { } upper) continue;
            if (upper[0] < storage.M) upper[0]++;
            upper[upper[0]] = halfLinked;
        }
        long nearest = index.Search(query, 1, 20)[0].Id; // the live index does not descend through a pending node

        Snapshot.Save(index, PathOf("half-linked.snap"));
        using var loaded = Snapshot.Load(PathOf("half-linked.snap")).Index;

        Assert.Equal(1, nearest);
        SearchHit[] hits = loaded.Search(query, 1, 20);
        Assert.Equal(nearest, Assert.Single(hits).Id);
    }

    [Fact]
    public void AMissingFileFailsWithFileNotFound() =>
        Assert.Throws<FileNotFoundException>(() => Snapshot.Load(PathOf("nothing.snap")));
}
