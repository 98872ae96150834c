using System.Buffers.Binary;
using System.Text;
using AnnServer.Core.Payloads;
using AnnServer.Core.Snapshots;

namespace AnnServer.Core.Tests.Snapshots;

/// <summary>Snapshot format version 5: the ValueLinks section (docs/snapshot-format.md).</summary>
public sealed class ValueLinksSnapshotTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("annserver-value-links-snapshot-tests-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string PathOf(string name) => Path.Combine(_folder, name);

    /// <summary>Nodes 0 and 1 red, 2 blue, 3 red then deleted; M 2, so rows of 4 links.</summary>
    private static HnswIndex TinyIndex()
    {
        var index = new HnswIndex(new HnswOptions { Dimension = 2, M = 2, LinkedFields = ["color"] });
        index.Upsert(10, [0, 0], new Payload { { "color", "red" } });
        index.Upsert(11, [0, 1], new Payload { { "color", "red" } });
        index.Upsert(12, [1, 0], new Payload { { "color", "blue" } });
        index.Upsert(13, [1, 1], new Payload { { "color", "red" } });
        index.Delete(13);
        return index;
    }

    [Fact]
    public void TheValueLinksSectionHoldsExactlyTheDocumentedBytes()
    {
        using (var index = TinyIndex()) Snapshot.Save(index, PathOf("tiny.snap"));
        byte[] file = File.ReadAllBytes(PathOf("tiny.snap"));
        var section = Snapshot.ReadInfo(PathOf("tiny.snap")).Sections.Single(s => s.Name == "ValueLinks");

        var expected = new List<byte>();
        void I32(int v) => expected.AddRange(BitConverter.GetBytes(v));
        void Row(params int[] links) { I32(links.Length); foreach (int l in links) I32(l); for (int i = links.Length; i < 4; i++) I32(0); }

        I32(1);                                                         // one linked field
        I32(5); expected.AddRange(Encoding.UTF8.GetBytes("color")); expected.AddRange(new byte[3]); // name, padded to 8
        I32(4);                                                         // 2·M links a row
        Row(1, 3);                                                      // node 0: node 1, then node 3's back link
        Row(0, 3);
        Row();                                                          // node 2: the only blue point
        Row(1, 0);                                                      // node 3, deleted: its links stay until a rebuild

        Assert.True(BitConverter.IsLittleEndian);
        Assert.Equal([.. expected], file.AsSpan((int)section.Offset, (int)section.Length).ToArray());
        Assert.Equal(5, BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(8)));
        Assert.Equal(10u, BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(88 + 32 * 7))); // kind 10, after Payload
        Assert.Equal(0, section.Offset % 64);
        Assert.True(section.ChecksumValid);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void LinksSurviveARoundTripAndKeepBeingMaintained(bool readIntoMemory)
    {
        using (var index = TinyIndex()) Snapshot.Save(index, PathOf("tiny.snap"));
        using var loaded = Snapshot.Load(PathOf("tiny.snap"), new SnapshotLoadOptions { ReadIntoMemory = readIntoMemory }).Index;
        Assert.Equal(["color"], loaded.LinkedFields);
        var links = loaded.ValueLinkTables.Single();
        Assert.True(links.IsComplete);
        Assert.Equal([1, 3], links.Links(0).ToArray());
        Assert.Empty(links.Links(2).ToArray());

        loaded.Upsert(14, [1, 0.5f], new Payload { { "color", "blue" } });
        Assert.Equal([2], links.Links(4).ToArray());
        Assert.Equal([4], links.Links(2).ToArray());
    }

    [Fact]
    public void AnIndexWithoutLinkedFieldsIsStillWrittenAsAnOlderVersion()
    {
        using (var index = new HnswIndex(new HnswOptions { Dimension = 2 }))
        {
            index.Upsert(1, [0, 0], new Payload { { "color", "red" } });
            Snapshot.Save(index, PathOf("plain.snap"));
        }
        var info = Snapshot.ReadInfo(PathOf("plain.snap"));
        Assert.Equal(3, info.FormatVersion);
        Assert.DoesNotContain(info.Sections, s => s.Name == "ValueLinks");
        using var loaded = Snapshot.Load(PathOf("plain.snap")).Index;
        Assert.Empty(loaded.LinkedFields);
    }

    [Fact]
    public void AFlippedByteInTheValueLinksSectionFailsTheLoadNamingIt()
    {
        using (var index = TinyIndex()) Snapshot.Save(index, PathOf("tiny.snap"));
        var section = Snapshot.ReadInfo(PathOf("tiny.snap")).Sections.Single(s => s.Name == "ValueLinks");
        byte[] file = File.ReadAllBytes(PathOf("tiny.snap"));
        file[section.Offset + 20] ^= 0x40;
        File.WriteAllBytes(PathOf("tiny.snap"), file);
        var e = Assert.Throws<SnapshotFormatException>(() => Snapshot.Load(PathOf("tiny.snap")).Index);
        Assert.Contains("ValueLinks", e.Message);
    }

    [Fact]
    public void ALinkBeyondTheNodesFailsWithAFormatErrorNotACrash()
    {
        using (var index = TinyIndex()) Snapshot.Save(index, PathOf("tiny.snap"));
        var section = Snapshot.ReadInfo(PathOf("tiny.snap")).Sections.Single(s => s.Name == "ValueLinks");
        byte[] file = File.ReadAllBytes(PathOf("tiny.snap"));
        BinaryPrimitives.WriteInt32LittleEndian(file.AsSpan((int)section.Offset + 20 + 4), 1_000_000); // node 0's first link
        File.WriteAllBytes(PathOf("tiny.snap"), file);
        var e = Assert.Throws<SnapshotFormatException>(() => Snapshot.Load(PathOf("tiny.snap"), new SnapshotLoadOptions { SkipChecksums = true }).Index);
        Assert.Contains("beyond the 4 nodes", e.Message);
    }
}
