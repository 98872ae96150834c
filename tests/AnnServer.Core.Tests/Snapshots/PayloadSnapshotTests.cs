using System.Buffers.Binary;
using System.Text;
using AnnServer.Core.Filtering;
using AnnServer.Core.Payloads;
using AnnServer.Core.Snapshots;
using AnnServer.Core.Tests.Filtering;

namespace AnnServer.Core.Tests.Snapshots;

/// <summary>Snapshot format version 3: the Payload section (docs/snapshot-format.md).</summary>
public sealed class PayloadSnapshotTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("annserver-payload-snapshot-tests-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string PathOf(string name) => Path.Combine(_folder, name);

    private static HnswIndex TinyIndex()
    {
        var index = new HnswIndex(new HnswOptions { Dimension = 2 });
        index.Upsert(10, [0, 0], new Payload { { "color", "red" }, { "n", 5L } });
        index.Upsert(11, [0, 1], new Payload { { "color", "blue" }, { "tags", PayloadValue.Keywords("x", "y") } });
        index.Upsert(12, [1, 0], new Payload { { "n", -1L }, { "on", true }, { "p", 2.5 } });
        return index;
    }

    [Fact]
    public void ThePayloadSectionHoldsExactlyTheDocumentedBytes()
    {
        using (var index = TinyIndex()) Snapshot.Save(index, PathOf("tiny.snap"));
        byte[] file = File.ReadAllBytes(PathOf("tiny.snap"));
        var section = Snapshot.ReadInfo(PathOf("tiny.snap")).Sections.Single(s => s.Name == "Payload");

        var expected = new List<byte>();
        void U8(byte v) => expected.Add(v);
        void U16(ushort v) => expected.AddRange(BitConverter.GetBytes(v));
        void U32(uint v) => expected.AddRange(BitConverter.GetBytes(v));
        void I32(int v) => expected.AddRange(BitConverter.GetBytes(v));
        void I64(long v) => expected.AddRange(BitConverter.GetBytes(v));
        void U64(ulong v) => expected.AddRange(BitConverter.GetBytes(v));
        void F64(double v) => expected.AddRange(BitConverter.GetBytes(v));
        void Str(string s) { U16((ushort)Encoding.UTF8.GetByteCount(s)); expected.AddRange(Encoding.UTF8.GetBytes(s)); }

        U32(5);                                                         // fields, in the order they first appeared
        Str("color"); U8(1); U32(2); Str("red"); Str("blue"); U64(0b011); I32(0); I32(1);
        Str("n"); U8(3); U64(0b101); I64(5); I64(-1);
        Str("tags"); U8(2); U32(2); Str("x"); Str("y"); U64(0b010); U32(2); I32(0); I32(1);
        Str("on"); U8(6); U64(0b100); U8(1);
        Str("p"); U8(5); U64(0b100); F64(2.5);

        Assert.True(BitConverter.IsLittleEndian);
        Assert.Equal([.. expected], file.AsSpan((int)section.Offset, (int)section.Length).ToArray());
        Assert.Equal(3, BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(8)));
        Assert.Equal(7, BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(80)));            // six sections, then Payload
        Assert.Equal(8u, BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(88 + 32 * 6))); // kind 8
        Assert.Equal(0, section.Offset % 64);
        Assert.True(section.ChecksumValid);
    }

    [Fact]
    public void AnIndexWithoutPayloadsIsStillWrittenAsVersion2()
    {
        using (var index = new HnswIndex(new HnswOptions { Dimension = 2 }))
        {
            index.Upsert(1, [0, 0]);
            Snapshot.Save(index, PathOf("plain.snap"));
        }
        var info = Snapshot.ReadInfo(PathOf("plain.snap"));
        Assert.Equal(2, info.FormatVersion);
        Assert.DoesNotContain(info.Sections, s => s.Name == "Payload");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void PayloadsFiltersAndEstimatesSurviveARoundTrip(bool readIntoMemory)
    {
        var points = FilterTestData.Points(500, seed: 71);
        using var original = FilterTestData.Index(points, seed: 72);
        for (long id = 0; id < 500; id += 7) original.Delete(id);
        original.SetPayload(1, new Payload { { "color", "violet" } });
        Snapshot.Save(original, PathOf("p.snap"));

        using var loaded = Snapshot.Load(PathOf("p.snap"), new SnapshotLoadOptions { ReadIntoMemory = readIntoMemory }).Index;

        foreach (long id in original.GetIds())
        {
            Assert.True(original.TryGetPayload(id, out var expected));
            Assert.True(loaded.TryGetPayload(id, out var actual));
            Assert.Equal(expected.ToList(), actual.ToList());
        }
        var filter = SearchFilter.Of(new Filter(
            must: [new KeywordMatch("color", "red", "violet")],
            should: [new NumericRange("price") { Lt = 10 }, new IntegerMatch("sizes", 40)],
            mustNot: [new BoolMatch("sponsored", true)]));
        Assert.Equal(original.Scroll(filter, null, 1000), loaded.Scroll(filter, null, 1000), ScrollPageComparer.Instance);
        Assert.Equal(EstimateOf(original, filter), EstimateOf(loaded, filter));
    }

    [Fact]
    public void ALoadedIndexTakesNewPayloadsOnTheSameDictionaries()
    {
        using (var index = TinyIndex()) Snapshot.Save(index, PathOf("tiny.snap"));
        using var loaded = Snapshot.Load(PathOf("tiny.snap")).Index;

        loaded.Upsert(13, [1, 1], new Payload { { "color", "red" }, { "tags", PayloadValue.Keywords("y", "z") } });

        Assert.Equal([10, 13], loaded.Scroll(SearchFilter.Of(Filter.All(new KeywordMatch("color", "red"))), null, 10).Ids);
        Assert.Equal([11, 13], loaded.Scroll(SearchFilter.Of(Filter.All(new KeywordMatch("tags", "y"))), null, 10).Ids);
        Assert.Throws<ArgumentException>(() => loaded.SetPayload(10, new Payload { { "n", "five" } }));
    }

    [Fact]
    public void AFlippedByteInThePayloadSectionFailsTheLoadNamingIt()
    {
        using (var index = TinyIndex()) Snapshot.Save(index, PathOf("tiny.snap"));
        var entry = Snapshot.ReadInfo(PathOf("tiny.snap")).Sections.Single(s => s.Name == "Payload");
        byte[] file = File.ReadAllBytes(PathOf("tiny.snap"));
        file[entry.Offset + entry.Length / 2] ^= 0x40;
        File.WriteAllBytes(PathOf("tiny.snap"), file);

        Assert.Contains("section Payload fails its checksum", Assert.Throws<SnapshotFormatException>(() => Snapshot.Load(PathOf("tiny.snap"))).Message);
    }

    [Fact]
    public void ADamagedPayloadSectionWithoutChecksumsFailsWithAFormatErrorNotACrash()
    {
        using (var index = TinyIndex()) Snapshot.Save(index, PathOf("tiny.snap"));
        var entry = Snapshot.ReadInfo(PathOf("tiny.snap")).Sections.Single(s => s.Name == "Payload");
        byte[] original = File.ReadAllBytes(PathOf("tiny.snap"));
        var random = new Random(5);
        for (int trial = 0; trial < 300; trial++)
        {
            byte[] file = [.. original];
            file[entry.Offset + random.Next((int)entry.Length)] ^= (byte)random.Next(1, 256);
            File.WriteAllBytes(PathOf("bad.snap"), file);
            try
            {
                using var loaded = Snapshot.Load(PathOf("bad.snap"), new SnapshotLoadOptions { SkipChecksums = true, ReadIntoMemory = true }).Index;
                loaded.Scroll(SearchFilter.Of(Filter.All(new IsNull("zzz"))), null, 10); // whatever it read is usable
            }
            catch (SnapshotFormatException)
            {
            }
        }
    }

    private static double EstimateOf(HnswIndex index, SearchFilter filter)
    {
        lock (index.MapLock)
            return FilterCompiler.Compile(filter, index.Storage, index.Payloads, new Dictionary<int, int>(), index.Count).EstimatedMatches;
    }

    private sealed class ScrollPageComparer : IEqualityComparer<ScrollPage>
    {
        public static readonly ScrollPageComparer Instance = new();
        public bool Equals(ScrollPage? x, ScrollPage? y) => x!.Ids.SequenceEqual(y!.Ids) && x.NextAfterId == y.NextAfterId;
        public int GetHashCode(ScrollPage obj) => obj.Ids.Length;
    }
}
