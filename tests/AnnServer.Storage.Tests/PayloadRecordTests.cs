using System.Buffers.Binary;
using System.IO.Hashing;

namespace AnnServer.Storage.Tests;

/// <summary>Log record format version 3: payload blobs on upserts and the SetPayload operation (docs/log-format.md,
/// "Log record, format version 3"). The blobs are opaque here; the engine's PayloadCodec gives them their meaning.</summary>
public class PayloadRecordTests
{
    [Fact]
    public void GoldenBytesOfAnUpsertWithPayloads()
    {
        LogRecord record = LogRecord.Upsert("c", 1, [1, 2], [0.5f, -1f], payloads: [[0xAA, 0xBB], null]);
        var expected = new List<byte>();
        expected.AddRange("ANLR"u8.ToArray());                 // 0  magic
        expected.AddRange(Le(3, 2));                            // 4  version 3
        expected.Add(1);                                        // 6  operation = upsert
        expected.Add(0b1001);                                   // 7  flags: vectors, payloads
        expected.AddRange(Le(24 + 1 + 16 + 8 + 8 + 2 + 8, 4));  // 8  record length = 67
        expected.AddRange(Le(2, 4));                            // 12 count
        expected.AddRange(Le(1, 4));                            // 16 dimension
        expected.Add(1);                                        // 20 name length
        expected.AddRange([0, 0, 0]);                           // 21 payload mode (none), reserved
        expected.Add((byte)'c');                                // 24 name
        expected.AddRange(Le(1, 8));                            // ids
        expected.AddRange(Le(2, 8));
        expected.AddRange(Le(BitConverter.SingleToInt32Bits(0.5f), 4));  // vectors
        expected.AddRange(Le(BitConverter.SingleToInt32Bits(-1f), 4));
        expected.AddRange(Le(2, 4));                            // payload lengths
        expected.AddRange(Le(0, 4));
        expected.AddRange([0xAA, 0xBB]);                        // payload blobs
        expected.AddRange(Le((long)XxHash64.HashToUInt64(expected.ToArray()), 8));

        byte[] actual = LogRecordCodec.Encode(record);

        Assert.Equal(67, actual.Length);
        Assert.Equal(Convert.ToHexString(expected.ToArray()), Convert.ToHexString(actual));
        Assert.Equal(
            "414E4C52030001094300000002000000010000000100000063" + "01000000000000000200000000000000" + "0000003F000080BF" + "0200000000000000" + "AABB",
            Convert.ToHexString(actual)[..^16]);
    }

    [Fact]
    public void GoldenBytesOfASetPayloadRecord()
    {
        LogRecord record = LogRecord.SetPayload("c", LogPayloadMode.DeleteFields, [7], [[0x01, 0x4E, 0x00, 0x00]]);
        var expected = new List<byte>();
        expected.AddRange("ANLR"u8.ToArray());                 // 0  magic
        expected.AddRange(Le(3, 2));                            // 4  version 3
        expected.Add(3);                                        // 6  operation = set payload
        expected.Add(0b1000);                                   // 7  flags: payloads
        expected.AddRange(Le(24 + 1 + 8 + 4 + 4 + 8, 4));       // 8  record length = 49
        expected.AddRange(Le(1, 4));                            // 12 count
        expected.AddRange(Le(0, 4));                            // 16 dimension
        expected.Add(1);                                        // 20 name length
        expected.Add(3);                                        // 21 payload mode = delete fields
        expected.AddRange([0, 0]);                              // 22 reserved
        expected.Add((byte)'c');                                // 24 name
        expected.AddRange(Le(7, 8));                            // ids
        expected.AddRange(Le(4, 4));                            // payload length
        expected.AddRange([0x01, 0x4E, 0x00, 0x00]);            // payload blob (an empty field-name list)
        expected.AddRange(Le((long)XxHash64.HashToUInt64(expected.ToArray()), 8));

        byte[] actual = LogRecordCodec.Encode(record);

        Assert.Equal(49, actual.Length);
        Assert.Equal(Convert.ToHexString(expected.ToArray()), Convert.ToHexString(actual));
        Assert.Equal("414E4C52" + "0300" + "03" + "08" + "31000000" + "01000000" + "00000000" + "01" + "03" + "0000" + "63" +
            "0700000000000000" + "04000000" + "014E0000", Convert.ToHexString(actual)[..^16]);
        LogRecord decoded = LogRecordCodec.Decode(actual);
        Assert.Equal(LogPayloadMode.DeleteFields, decoded.PayloadMode);
        Assert.Equal([0x01, 0x4E, 0x00, 0x00], decoded.Payloads![0]);
    }

    [Fact]
    public void AnUpsertWithPayloadsRoundTripsAndAnEmptyBlobReadsBackAsNull()
    {
        LogRecord record = LogRecord.Upsert("pins", 2, [1, 2, 3], [1, 2, 3, 4, 5, 6], [[4], [], [5, 6]], [[1, 2, 3], [], null])
            .WithStreamSequence(9);

        LogRecord decoded = LogRecordCodec.Decode(LogRecordCodec.Encode(record));

        Assert.Equal(LogOperation.Upsert, decoded.Operation);
        Assert.Equal(9UL, decoded.StreamSequence);
        Assert.Equal(record.Vectors, decoded.Vectors);
        Assert.Equal([[4], [], [5, 6]], decoded.Labels);
        Assert.Equal([1, 2, 3], decoded.Payloads![0]);
        Assert.Null(decoded.Payloads[1]);
        Assert.Null(decoded.Payloads[2]);
        Assert.Equal(LogPayloadMode.None, decoded.PayloadMode);
        Assert.Equal(LogRecordCodec.GetEncodedLength(record), LogRecordCodec.Encode(record).Length);
    }

    [Theory]
    [InlineData(LogPayloadMode.Set)]
    [InlineData(LogPayloadMode.Replace)]
    [InlineData(LogPayloadMode.DeleteFields)]
    public void ASetPayloadRecordRoundTripsItsModeIdsAndBlobs(LogPayloadMode mode)
    {
        LogRecord decoded = LogRecordCodec.Decode(LogRecordCodec.Encode(LogRecord.SetPayload("c", mode, [5, -6], [[9], []])));

        Assert.Equal(LogOperation.SetPayload, decoded.Operation);
        Assert.Equal(mode, decoded.PayloadMode);
        Assert.Equal([5L, -6L], decoded.Ids);
        Assert.Equal(0, decoded.Dimension);
        Assert.Null(decoded.Vectors);
        Assert.Null(decoded.Labels);
        Assert.Equal([9], decoded.Payloads![0]);
        Assert.Null(decoded.Payloads[1]);
    }

    [Fact]
    public void AnUpsertWhoseBlobsAreAllEmptyIsWrittenAsBefore()
    {
        LogRecord plain = LogRecord.Upsert("c", 1, [1, 2], [1, 2], [[3], []]);
        LogRecord empty = LogRecord.Upsert("c", 1, [1, 2], [1, 2], [[3], []], [null, []]);

        Assert.Null(empty.Payloads);
        Assert.Equal(Convert.ToHexString(LogRecordCodec.Encode(plain)), Convert.ToHexString(LogRecordCodec.Encode(empty)));
        Assert.Equal(1, BinaryPrimitives.ReadUInt16LittleEndian(LogRecordCodec.Encode(empty).AsSpan(4)));
        Assert.Equal(2, BinaryPrimitives.ReadUInt16LittleEndian(LogRecordCodec.Encode(empty.WithStreamSequence(1)).AsSpan(4)));
    }

    [Fact]
    public void PayloadBytesIsWhatAPointsBlobAddsToARecord()
    {
        LogRecord without = LogRecord.Upsert("c", 1, [1, 2], [1, 2], payloads: [[1], null]);
        LogRecord with = LogRecord.Upsert("c", 1, [1, 2], [1, 2], payloads: [[1], [1, 2, 3, 4, 5]]);

        Assert.Equal(LogRecordCodec.PayloadBytes([1, 2, 3, 4, 5]) - LogRecordCodec.PayloadBytes(null),
            LogRecordCodec.GetEncodedLength(with) - LogRecordCodec.GetEncodedLength(without));
        Assert.Equal(4, LogRecordCodec.PayloadBytes(null));
        Assert.Equal(9, LogRecordCodec.PayloadBytes(new byte[5]));
    }

    [Fact]
    public void BuildersRefuseBadPayloadArguments()
    {
        Assert.Contains("payloads has 1 entries but there are 2 ids",
            Assert.Throws<ArgumentException>(() => LogRecord.Upsert("c", 1, [1, 2], [1, 2], payloads: [[1]])).Message);
        Assert.Contains("MaxPayloadBytes",
            Assert.Throws<ArgumentException>(() => LogRecord.SetPayload("c", LogPayloadMode.Set, [1], [new byte[LogRecord.MaxPayloadBytes + 1]])).Message);
        Assert.Contains("payload mode must be",
            Assert.Throws<ArgumentException>(() => LogRecord.SetPayload("c", LogPayloadMode.None, [1], [[1]])).Message);
    }

    [Fact]
    public void EveryFlippedBitAndEveryTruncationIsDetected()
    {
        byte[] bytes = LogRecordCodec.Encode(LogRecord.Upsert("c", 2, [1, 2], [1, 2, 3, 4], [[1], []], [[5, 6, 7], null]));
        for (int i = 0; i < bytes.Length; i++)
            for (int bit = 0; bit < 8; bit++)
            {
                var damaged = (byte[])bytes.Clone();
                damaged[i] ^= (byte)(1 << bit);
                Assert.Throws<LogRecordFormatException>(() => LogRecordCodec.Decode(damaged));
            }
        for (int length = 0; length < bytes.Length; length++)
            Assert.Throws<LogRecordFormatException>(() => LogRecordCodec.Decode(bytes.AsSpan(0, length)));
    }

    // The cases below re-seal the checksum after lying, as a buggy or hostile writer could.

    [Fact]
    public void AHugePayloadLengthIsRefusedBeforeAllocating()
    {
        byte[] bytes = Reseal(LogRecordCodec.Encode(LogRecord.SetPayload("c", LogPayloadMode.Set, [1], [[1, 2]])),
            b => BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(24 + 1 + 8), LogRecord.MaxPayloadBytes));
        Assert.Contains($"payloads ({LogRecord.MaxPayloadBytes} bytes) do not fit",
            Assert.Throws<LogRecordFormatException>(() => LogRecordCodec.Decode(bytes)).Message);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(LogRecord.MaxPayloadBytes + 1)]
    public void APayloadLengthOutsideTheLimitIsRefused(int length)
    {
        byte[] bytes = Reseal(LogRecordCodec.Encode(LogRecord.SetPayload("c", LogPayloadMode.Set, [1], [[1, 2]])),
            b => BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(24 + 1 + 8), length));
        Assert.Contains($"payload length {length} of id #0 is outside",
            Assert.Throws<LogRecordFormatException>(() => LogRecordCodec.Decode(bytes)).Message);
    }

    [Fact]
    public void AnUnknownPayloadModeIsRefused()
    {
        byte[] bytes = Reseal(LogRecordCodec.Encode(LogRecord.SetPayload("c", LogPayloadMode.Set, [1], [[1]])), b => b[21] = 4);
        Assert.Contains("payload mode byte 21 is 4", Assert.Throws<LogRecordFormatException>(() => LogRecordCodec.Decode(bytes)).Message);
    }

    [Fact]
    public void APayloadModeOnAnotherOperationIsRefused()
    {
        byte[] bytes = Reseal(LogRecordCodec.Encode(LogRecord.Delete("c", [1])), b => b[21] = 1);
        Assert.Contains("invalid for a Delete record", Assert.Throws<LogRecordFormatException>(() => LogRecordCodec.Decode(bytes)).Message);
    }

    [Fact]
    public void TheSetPayloadOperationIsUnknownBeforeVersion3()
    {
        byte[] bytes = Reseal(LogRecordCodec.Encode(LogRecord.SetPayload("c", LogPayloadMode.Set, [1], [[1]])),
            b => BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(4), 2));
        Assert.Contains("(version 2) has unknown operation 3", Assert.Throws<LogRecordFormatException>(() => LogRecordCodec.Decode(bytes)).Message);
    }

    [Fact]
    public void ThePayloadFlagIsUnknownBeforeVersion3()
    {
        byte[] bytes = Reseal(LogRecordCodec.Encode(LogRecord.Upsert("c", 1, [1], [1], payloads: [[1]])),
            b => BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(4), 2));
        Assert.Contains("(version 2) has unknown flags 0x09", Assert.Throws<LogRecordFormatException>(() => LogRecordCodec.Decode(bytes)).Message);
    }

    [Fact]
    public void ASetPayloadWithoutPayloadsIsRefused()
    {
        byte[] bytes = LogRecordCodec.Encode(LogRecord.Delete("c", [1]));
        bytes = Reseal(bytes, b => { BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(4), 3); b[6] = 3; b[21] = 1; });
        Assert.Contains("no payloads", Assert.Throws<LogRecordFormatException>(() => LogRecordCodec.Decode(bytes)).Message);
    }

    [Fact]
    public void ADeleteWithPayloadsIsRefused()
    {
        byte[] bytes = Reseal(LogRecordCodec.Encode(LogRecord.SetPayload("c", LogPayloadMode.Set, [1], [[1]])), b => { b[6] = 2; b[21] = 0; });
        Assert.Contains("delete log record carries", Assert.Throws<LogRecordFormatException>(() => LogRecordCodec.Decode(bytes)).Message);
    }

    private static byte[] Reseal(byte[] bytes, Action<byte[]> change)
    {
        change(bytes);
        int body = bytes.Length - 8;
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(body), XxHash64.HashToUInt64(bytes.AsSpan(0, body)));
        return bytes;
    }

    private static byte[] Le(long value, int size)
    {
        var bytes = new byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, value);
        return bytes[..size];
    }
}
