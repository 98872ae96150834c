using AnnServer.Core;
using AnnServer.Core.Payloads;
using AnnServer.Storage;
using Microsoft.Extensions.Logging.Abstractions;

namespace AnnServer.Collections.Tests;

/// <summary>Payloads in the write-ahead log (format version 3) come back on replay: the blobs of upserts and the
/// SetPayload records, in log order.</summary>
public sealed class PayloadReplayTests
{
    private const string Name = "c";

    [Fact]
    public async Task ALogOfPayloadUpsertsAndChangesReplaysIntoTheIndex()
    {
        using var folder = new TempFolder();
        await using (var log = CollectionLog.Open(folder.Path))
        {
            await log.AppendAsync(LogRecord.Upsert(Name, 2, [1, 2, 3], [1, 0, 0, 1, 1, 1], payloads:
            [
                PayloadCodec.Encode(new Payload { { "color", "red" }, { "price", 10L } }),
                PayloadCodec.Encode(new Payload { { "color", "blue" }, { "tags", PayloadValue.Keywords("a", "b") } }),
                null,
            ]));
            await log.AppendAsync(LogRecord.SetPayload(Name, LogPayloadMode.Set, [1, 3, 99],
            [
                PayloadCodec.Encode(new Payload { { "price", 12L }, { "sale", true } }),
                PayloadCodec.Encode(new Payload { { "score", 0.5 } }),
                PayloadCodec.Encode(new Payload { { "price", 1L } }), // 99 is not in the index: skipped
            ]));
            await log.AppendAsync(LogRecord.SetPayload(Name, LogPayloadMode.DeleteFields, [1], [PayloadCodec.EncodeFieldNames(["color", "nothing"])]));
            await log.AppendAsync(LogRecord.SetPayload(Name, LogPayloadMode.Replace, [2, 3],
                [PayloadCodec.Encode(new Payload { { "ids", PayloadValue.Int64s(4, 5) } }), null]));
        }

        using var index = new HnswIndex(new HnswOptions { Dimension = 2, M = 8, EfConstruction = 32 });
        await using (var log = CollectionLog.Open(folder.Path))
        {
            LogTail tail = LogReplayer.ReadTail(log, 2, Name, 0, NullLogger.Instance);
            LogReplayer.Apply(tail, index, Name, NullLogger.Instance);
        }

        Assert.Equal(3, index.Count);
        Assert.Equal([new PayloadField("price", 12L), new PayloadField("sale", true)], PayloadOf(index, 1));
        Assert.Equal([new PayloadField("ids", PayloadValue.Int64s(4, 5))], PayloadOf(index, 2));
        Assert.Empty(PayloadOf(index, 3)); // Set gave it "score", Replace with no blob cleared it
        Assert.False(index.Contains(99));
    }

    [Fact]
    public async Task ALaterUpsertReplacesThePayloadTheLogGaveEarlier()
    {
        using var folder = new TempFolder();
        await using (var log = CollectionLog.Open(folder.Path))
        {
            await log.AppendAsync(LogRecord.Upsert(Name, 1, [7], [1], payloads: [PayloadCodec.Encode(new Payload { { "v", 1L } })]));
            await log.AppendAsync(LogRecord.Upsert(Name, 1, [7], [2], payloads: [PayloadCodec.Encode(new Payload { { "w", "x" } })]));
        }

        using var index = new HnswIndex(new HnswOptions { Dimension = 1, M = 8, EfConstruction = 32 });
        await using (var log = CollectionLog.Open(folder.Path))
            LogReplayer.Apply(LogReplayer.ReadTail(log, 1, Name, 0, NullLogger.Instance), index, Name, NullLogger.Instance);

        Assert.Equal([new PayloadField("w", "x")], PayloadOf(index, 7));
    }

    [Fact]
    public void ABlobTheCodecRefusesNamesTheRecordAndTheId()
    {
        using var index = new HnswIndex(new HnswOptions { Dimension = 1, M = 8, EfConstruction = 32 });
        var applier = new LogRecordApplier(index);
        applier.Apply(LogRecord.Upsert(Name, 1, [7], [1]));
        applier.Flush();

        var e = Assert.Throws<InvalidDataException>(() => applier.Apply(LogRecord.SetPayload(Name, LogPayloadMode.Set, [7], [[9, 9, 9]])));

        Assert.Contains("payload of id 7", e.Message);
    }

    private static List<PayloadField> PayloadOf(HnswIndex index, long id)
    {
        Assert.True(index.TryGetPayload(id, out Payload payload), $"id {id} is missing");
        return [.. payload];
    }
}
