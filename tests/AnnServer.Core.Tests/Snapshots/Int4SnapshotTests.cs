using AnnServer.Core;
using AnnServer.Core.Hnsw;
using AnnServer.Core.Snapshots;

namespace AnnServer.Core.Tests.Snapshots;

public sealed unsafe class Int4SnapshotTests : IDisposable
{
    private const int Dimension = 24;

    /// <summary>Checked in: a version-2 snapshot of <see cref="GoldenIndex"/>, quantization byte 2 (int4), written by the
    /// build that introduced it. Regenerate only with a format change (new version), never to make this test pass:
    /// ANN_WRITE_GOLDEN=1 dotnet test tests/AnnServer.Core.Tests --filter AnInt4IndexIsWrittenAsTheGoldenFile.</summary>
    private static readonly string GoldenPath = Path.Combine(AppContext.BaseDirectory, "Snapshots", "Golden", "int4-v2.snap");

    private readonly string _folder = Directory.CreateTempSubdirectory("annserver-int4-snapshot-tests-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string PathOf(string name) => Path.Combine(_folder, name);

    /// <summary>Small and built on one thread, so that it is the same graph on every machine; 16 dimensions fill a
    /// vector row (64 bytes) with no padding.</summary>
    private static HnswIndex GoldenIndex()
    {
        const int points = 60, dimension = 16;
        float[] data = TestData.Clustered(points, dimension, seed: 71, clusters: 4);
        var index = new HnswIndex(new HnswOptions { Dimension = dimension, M = 4, EfConstruction = 20, Quantization = VectorQuantization.Int4, RandomSeed = 7 });
        index.UpsertMany(data, TestData.Ids(points), threads: 1);
        return index;
    }

    [Fact]
    public void AnInt4IndexIsWrittenAsTheGoldenFile()
    {
        using var index = GoldenIndex();
        Snapshot.Save(index, PathOf("int4.snap"));
        if (Environment.GetEnvironmentVariable("ANN_WRITE_GOLDEN") == "1")
            File.Copy(PathOf("int4.snap"), Path.Combine(FindSourceFolder(), "Golden", "int4-v2.snap"), overwrite: true);
        byte[] golden = File.ReadAllBytes(GoldenPath), written = File.ReadAllBytes(PathOf("int4.snap"));
        Assert.Equal(golden.Length, written.Length);
        // The header's fields up to the section table, and each section's kind, offset and length.
        Assert.Equal(golden.AsSpan(0, 88).ToArray(), written.AsSpan(0, 88).ToArray());
        var sections = Snapshot.ReadInfo(GoldenPath).Sections;
        Assert.Equal(sections.Select(s => (s.Name, s.Offset, s.Length)), Snapshot.ReadInfo(PathOf("int4.snap")).Sections.Select(s => (s.Name, s.Offset, s.Length)));
        // Byte for byte, the sections this build writes deterministically: not the link lists, whose unused slots hold
        // whatever the allocation held (so their checksums differ from run to run too).
        foreach (var section in sections.Where(s => s.Name is "Vectors" or "QuantizedVectors" or "Ids" or "States"))
            Assert.Equal(golden.AsSpan((int)section.Offset, (int)section.Length).ToArray(), written.AsSpan((int)section.Offset, (int)section.Length).ToArray());
    }

    [Fact]
    public void TheGoldenFileLoadsWithItsCodes()
    {
        var info = Snapshot.ReadInfo(GoldenPath);
        Assert.Equal(2, info.FormatVersion);
        Assert.Equal(VectorQuantization.Int4, info.Quantization);
        Assert.Contains(info.Sections, s => s.Name == "QuantizedVectors" && s.Length == 60 * Int4Codes.RowBytes(16) && s.ChecksumValid);
        Assert.Equal((byte)2, File.ReadAllBytes(GoldenPath)[22]);

        using var loaded = Snapshot.Load(GoldenPath).Index;
        using var fresh = GoldenIndex();
        float[] queries = TestData.Clustered(10, 16, seed: 72, clusters: 4);
        for (int q = 0; q < 10; q++)
            Assert.Equal(fresh.Search(TestData.Row(queries, q, 16), 5, 20), loaded.Search(TestData.Row(queries, q, 16), 5, 20));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AnInt4IndexRoundTripsWithItsCodes(bool readIntoMemory)
    {
        float[] data = TestData.Clustered(1_000, Dimension, seed: 73);
        using var original = new HnswIndex(new HnswOptions { Dimension = Dimension, M = 8, EfConstruction = 50, Quantization = VectorQuantization.Int4 });
        original.UpsertMany(data, TestData.Ids(1_000), threads: 2);
        Snapshot.Save(original, PathOf("q.snap"));

        using var loaded = Snapshot.Load(PathOf("q.snap"), new SnapshotLoadOptions { ReadIntoMemory = readIntoMemory }).Index;

        Assert.Equal(VectorQuantization.Int4, loaded.Quantization);
        float[] queries = TestData.Clustered(20, Dimension, seed: 74);
        for (int q = 0; q < 20; q++)
            Assert.Equal(original.Search(TestData.Row(queries, q, Dimension), 10, 30), loaded.Search(TestData.Row(queries, q, Dimension), 10, 30));
    }

    [Theory]
    [InlineData(VectorQuantization.Int4)]
    [InlineData(VectorQuantization.Int8)]
    public void AFloat32SnapshotLoadedWithCodesSearchesAsAnIndexBuiltWithThem(VectorQuantization quantization)
    {
        float[] data = TestData.Clustered(800, Dimension, seed: 75);
        using var plain = new HnswIndex(new HnswOptions { Dimension = Dimension, M = 8, EfConstruction = 50 });
        using var quantized = new HnswIndex(new HnswOptions { Dimension = Dimension, M = 8, EfConstruction = 50, Quantization = quantization });
        // One thread: the same links in both (every mode links on float32 distances).
        plain.UpsertMany(data, TestData.Ids(800), threads: 1);
        quantized.UpsertMany(data, TestData.Ids(800), threads: 1);
        Snapshot.Save(plain, PathOf("float32.snap"));

        using var encoded = Snapshot.Load(PathOf("float32.snap"), new SnapshotLoadOptions { EncodeAs = quantization }).Index;

        Assert.Equal(quantization, encoded.Quantization);
        float[] queries = TestData.Clustered(20, Dimension, seed: 76);
        for (int q = 0; q < 20; q++)
            Assert.Equal(quantized.Search(TestData.Row(queries, q, Dimension), 10, 30), encoded.Search(TestData.Row(queries, q, Dimension), 10, 30));
    }

    [Fact]
    public void AQuantizedSnapshotCannotBeLoadedAsAnotherQuantization()
    {
        float[] data = TestData.Clustered(100, Dimension, seed: 77);
        using (var int8 = new HnswIndex(new HnswOptions { Dimension = Dimension, M = 8, EfConstruction = 20, Quantization = VectorQuantization.Int8 }))
        {
            int8.UpsertMany(data, TestData.Ids(100), threads: 1);
            Snapshot.Save(int8, PathOf("int8.snap"));
        }
        var error = Assert.Throws<ArgumentException>(() => Snapshot.Load(PathOf("int8.snap"), new SnapshotLoadOptions { EncodeAs = VectorQuantization.Int4 }));
        Assert.Contains("only a float32 snapshot", error.Message);
    }

    private static string FindSourceFolder([System.Runtime.CompilerServices.CallerFilePath] string path = "") => Path.GetDirectoryName(path)!;
}
