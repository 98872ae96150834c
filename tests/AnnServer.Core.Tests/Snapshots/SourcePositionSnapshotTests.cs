using System.Buffers.Binary;
using System.Text;
using AnnServer.Core.Payloads;
using AnnServer.Core.Snapshots;

namespace AnnServer.Core.Tests.Snapshots;

/// <summary>Snapshot format version 4: the SourcePosition section (docs/snapshot-format.md).</summary>
public sealed class SourcePositionSnapshotTests : IDisposable
{
    private const string KafkaOffsets = "items-embeddings:0=1042,1=998,2=1017";
    private readonly string _folder = Directory.CreateTempSubdirectory("annserver-source-position-tests-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string PathOf(string name) => Path.Combine(_folder, name);

    private static HnswIndex TinyIndex(string? sourcePosition, bool payload = false)
    {
        var index = new HnswIndex(new HnswOptions { Dimension = 2 }) { SourcePosition = sourcePosition };
        index.Upsert(10, [0, 0], payload ? new Payload { { "color", "red" } } : null);
        index.Upsert(11, [0, 1]);
        return index;
    }

    [Fact]
    public void TheSourcePositionSectionHoldsExactlyTheDocumentedBytes()
    {
        using (var index = TinyIndex(KafkaOffsets)) Snapshot.Save(index, PathOf("v4.snap"));
        byte[] file = File.ReadAllBytes(PathOf("v4.snap"));

        Assert.Equal(4, BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(8)));
        Assert.Equal(7, BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(80)));            // six sections, then SourcePosition
        Span<byte> entry = file.AsSpan(88 + 32 * 6, 32);
        Assert.Equal(9u, BinaryPrimitives.ReadUInt32LittleEndian(entry));                   // kind 9
        long offset = BinaryPrimitives.ReadInt64LittleEndian(entry[8..]);
        long length = BinaryPrimitives.ReadInt64LittleEndian(entry[16..]);
        Assert.Equal(0, offset % 64);
        Assert.Equal(Encoding.UTF8.GetBytes(KafkaOffsets), file.AsSpan((int)offset, (int)length).ToArray()); // the UTF-8, nothing else
        Assert.Equal(System.IO.Hashing.XxHash64.HashToUInt64(Encoding.UTF8.GetBytes(KafkaOffsets)), BinaryPrimitives.ReadUInt64LittleEndian(entry[24..]));
        Assert.Equal(offset + length, file.Length);
    }

    [Fact]
    public void ThePositionComesBackFromLoadAndInfo()
    {
        const string position = "2026-12-06T23:00:00Z ✓";
        using (var index = TinyIndex(position)) Snapshot.Save(index, PathOf("a.snap"));

        var loaded = Snapshot.Load(PathOf("a.snap"));
        using var _ = loaded.Index;

        Assert.Equal(position, loaded.SourcePosition);
        Assert.Equal(position, loaded.Index.SourcePosition);
        Assert.Equal(position, Snapshot.ReadInfo(PathOf("a.snap")).SourcePosition);
    }

    [Fact]
    public void WithPayloadsTheFileHoldsBothSectionsAsVersion4()
    {
        using (var index = TinyIndex(KafkaOffsets, payload: true)) Snapshot.Save(index, PathOf("a.snap"));

        var info = Snapshot.ReadInfo(PathOf("a.snap"));
        using var loaded = Snapshot.Load(PathOf("a.snap")).Index;

        Assert.Equal(4, info.FormatVersion);
        Assert.Equal(["Vectors", "Level0Links", "UpperLinks", "Ids", "States", "Labels", "Payload", "SourcePosition"], info.Sections.Select(s => s.Name));
        Assert.True(loaded.TryGetPayload(10, out var payload));
        Assert.Equal("red", payload.Single().Value.AsKeyword());
        Assert.Equal(KafkaOffsets, loaded.SourcePosition);
    }

    [Fact]
    public void WithoutAPositionTheFileIsWrittenAsBeforeVersion4()
    {
        using (var index = TinyIndex(null)) Snapshot.Save(index, PathOf("plain.snap"));
        using (var index = TinyIndex(null, payload: true)) Snapshot.Save(index, PathOf("payload.snap"));

        Assert.Equal(2, Snapshot.ReadInfo(PathOf("plain.snap")).FormatVersion);
        Assert.Equal(3, Snapshot.ReadInfo(PathOf("payload.snap")).FormatVersion);
        Assert.Null(Snapshot.ReadInfo(PathOf("payload.snap")).SourcePosition);
        Assert.Null(Snapshot.Load(PathOf("payload.snap")).SourcePosition);
    }

    [Fact]
    public void ASnapshotOfALoadedIndexCarriesThePositionForward()
    {
        using (var index = TinyIndex(KafkaOffsets)) Snapshot.Save(index, PathOf("built.snap"));
        using (var served = Snapshot.Load(PathOf("built.snap")).Index)
        {
            served.Upsert(12, [1, 1]);
            Snapshot.Save(served, PathOf("checkpoint.snap"), logPosition: 64);
        }

        Assert.Equal(KafkaOffsets, Snapshot.ReadInfo(PathOf("checkpoint.snap")).SourcePosition);
    }

    [Fact]
    public void APositionOverTheLimitIsRefusedNamingTheLimit()
    {
        using var index = new HnswIndex(new HnswOptions { Dimension = 2 });
        index.SourcePosition = new string('x', Snapshot.MaxSourcePositionBytes);

        var tooLong = Assert.Throws<ArgumentException>(() => index.SourcePosition = new string('é', Snapshot.MaxSourcePositionBytes / 2 + 1));
        Assert.Contains("4098 bytes in UTF-8, more than the limit of 4096", tooLong.Message);
        Assert.Contains("empty", Assert.Throws<ArgumentException>(() => index.SourcePosition = "").Message);
        Assert.Equal(Snapshot.MaxSourcePositionBytes, index.SourcePosition.Length);
    }

    [Fact]
    public void ASourcePositionThatIsNotUtf8FailsTheLoadNamingTheSection()
    {
        using (var index = TinyIndex("abc")) Snapshot.Save(index, PathOf("a.snap"));
        var entry = Snapshot.ReadInfo(PathOf("a.snap")).Sections.Single(s => s.Name == "SourcePosition");
        byte[] file = File.ReadAllBytes(PathOf("a.snap"));
        file[entry.Offset] = 0xff;
        File.WriteAllBytes(PathOf("a.snap"), file);

        Assert.Contains("section SourcePosition fails its checksum", Assert.Throws<SnapshotFormatException>(() => Snapshot.Load(PathOf("a.snap"))).Message);
        Assert.Contains("section SourcePosition is not UTF-8", Assert.Throws<SnapshotFormatException>(
            () => Snapshot.Load(PathOf("a.snap"), new SnapshotLoadOptions { SkipChecksums = true })).Message);
        Assert.Null(Snapshot.ReadInfo(PathOf("a.snap")).SourcePosition);
    }

    [Fact]
    public void InfoListsThePayloadFieldsWithKindsAndCounts()
    {
        using (var index = new HnswIndex(new HnswOptions { Dimension = 2 }))
        {
            index.Upsert(1, [0, 0], new Payload { { "color", "red" }, { "n", 5L } });
            index.Upsert(2, [0, 1], new Payload { { "color", "blue" } });
            index.Upsert(3, [1, 0], new Payload { { "color", "red" }, { "tags", PayloadValue.Keywords("x") } });
            index.Upsert(4, [1, 1], new Payload { { "color", "green" } });
            index.Delete(4);
            Snapshot.Save(index, PathOf("p.snap"));
        }

        var fields = Snapshot.ReadInfo(PathOf("p.snap"), describePayload: true).PayloadFields;

        Assert.Equal(
            [new("color", PayloadKind.Keyword, 3, 3), new("n", PayloadKind.Int64, 1, 0), new SnapshotPayloadField("tags", PayloadKind.KeywordList, 1, 1)],
            fields);
        Assert.Empty(Snapshot.ReadInfo(PathOf("p.snap")).PayloadFields); // only when asked: checkpoints verify with ReadInfo
    }
}
