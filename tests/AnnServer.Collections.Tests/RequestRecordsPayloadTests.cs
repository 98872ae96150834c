using AnnServer.Storage;

namespace AnnServer.Collections.Tests;

/// <summary>Requests whose points carry payload blobs are cut into log records by size, blobs counted.</summary>
public sealed class RequestRecordsPayloadTests
{
    private static byte[]?[] Blobs(int count) =>
        Enumerable.Range(0, count).Select(i => i % 5 == 4 ? null : Enumerable.Repeat((byte)i, 10 + i % 50).ToArray()).ToArray();

    [Fact]
    public void AnUpsertWithPayloadsIsCutIntoRecordsThatFitAndKeepEveryBlobWithItsPoint()
    {
        const int count = 200, maxRecordBytes = 1024;
        long[] ids = Enumerable.Range(0, count).Select(i => (long)i).ToArray();
        var batch = new UpsertBatch(2, ids, TestData.RandomVectors(count, 2, seed: 3), new int[]?[count]);
        byte[]?[] blobs = Blobs(count);

        LogRecord[] records = RequestRecords.Upsert("c", batch, maxRecordBytes, blobs);

        Assert.True(records.Length > 5, $"{records.Length} records: the request should have been cut");
        Assert.All(records, r => Assert.InRange(LogRecordCodec.GetEncodedLength(r), 0, maxRecordBytes));
        Assert.Equal(ids, records.SelectMany(r => r.Ids));
        Assert.Equal(blobs.Select(b => b ?? []), records.SelectMany(r => r.Payloads ?? new byte[]?[r.Count]).Select(b => b ?? []));
    }

    [Fact]
    public void AnUpsertWhoseBlobsAreAllEmptyIsWrittenWithoutPayloads()
    {
        var batch = new UpsertBatch(1, [1, 2], [1, 2], new int[]?[2]);
        LogRecord record = Assert.Single(RequestRecords.Upsert("c", batch, 4096, [null, []]));
        Assert.Null(record.Payloads);
    }

    [Fact]
    public void APayloadChangeIsCutIntoRecordsThatFit()
    {
        const int count = 300, maxRecordBytes = 512;
        long[] ids = Enumerable.Range(0, count).Select(i => (long)i).ToArray();
        byte[]?[] blobs = Blobs(count);

        LogRecord[] records = RequestRecords.SetPayload("c", LogPayloadMode.Replace, ids, blobs, maxRecordBytes);

        Assert.True(records.Length > 5);
        Assert.All(records, r =>
        {
            Assert.InRange(LogRecordCodec.GetEncodedLength(r), 0, maxRecordBytes);
            Assert.Equal(LogPayloadMode.Replace, r.PayloadMode);
        });
        Assert.Equal(ids, records.SelectMany(r => r.Ids));
        Assert.Equal(blobs.Select(b => b ?? []), records.SelectMany(r => r.Payloads!).Select(b => b ?? []));
    }

    [Fact]
    public void APointWhosePayloadAloneExceedsARecordIsRefusedNamingIt()
    {
        var batch = new UpsertBatch(1, [1, 2], [1, 2], new int[]?[2]);
        var e = Assert.Throws<ArgumentException>(() => RequestRecords.Upsert("c", batch, 256, [null, new byte[300]]));
        Assert.Contains("points[1] (id 2, 0 labels, 300 payload bytes)", e.Message);
        Assert.Throws<ArgumentException>(() => RequestRecords.SetPayload("c", LogPayloadMode.Set, [7], [new byte[300]], 256));
    }
}
