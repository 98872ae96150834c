using System.Buffers.Binary;
using System.IO.Hashing;
using AnnServer.Storage;
using Xunit;

namespace AnnServer.Storage.Tests;

/// <summary>Log record format version 2: the optional stream sequence of a cluster replica's records
/// (docs/log-format.md, "Log record, format version 2").</summary>
public class StreamSequenceRecordTests
{
    [Fact]
    public void GoldenBytesOfAVersion2RecordMatchTheDocumentedLayout()
    {
        LogRecord record = LogRecord.Delete("c", [5]).WithStreamSequence(0x0102030405060708);
        var expected = new List<byte>();
        expected.AddRange("ANLR"u8.ToArray());         // 0  magic
        expected.AddRange(Le(2, 2));                    // 4  version 2
        expected.Add(2);                                // 6  operation = delete
        expected.Add(0b100);                            // 7  flags: stream sequence
        expected.AddRange(Le(24 + 1 + 8 + 8 + 8, 4));   // 8  record length = 49
        expected.AddRange(Le(1, 4));                    // 12 count
        expected.AddRange(Le(0, 4));                    // 16 dimension
        expected.Add(1);                                // 20 name length
        expected.AddRange([0, 0, 0]);                   // 21 reserved
        expected.Add((byte)'c');                        // 24 name
        expected.AddRange(Le(0x0102030405060708, 8));   // 25 stream sequence
        expected.AddRange(Le(5, 8));                    // 33 ids
        expected.AddRange(Le((long)XxHash64.HashToUInt64(expected.ToArray()), 8));

        byte[] actual = LogRecordCodec.Encode(record);

        Assert.Equal(Convert.ToHexString(expected.ToArray()), Convert.ToHexString(actual));
        LogRecord decoded = LogRecordCodec.Decode(actual);
        Assert.Equal(0x0102030405060708UL, decoded.StreamSequence);
        Assert.Equal([5L], decoded.Ids);
    }

    [Fact]
    public void ARecordWithoutASequenceIsStillWrittenAsVersion1()
    {
        byte[] bytes = LogRecordCodec.Encode(LogRecord.Delete("c", [5]));
        Assert.Equal(1, BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(4)));
        Assert.Equal(0UL, LogRecordCodec.Decode(bytes).StreamSequence);
    }

    [Fact]
    public void AnUpsertWithLabelsAndASequenceRoundTrips()
    {
        LogRecord record = LogRecord.Upsert("shard-col", 3, [1, 2], [1, 2, 3, 4, 5, 6], [[9, 8], []]).WithStreamSequence(42);
        LogRecord decoded = LogRecordCodec.Decode(LogRecordCodec.Encode(record));
        Assert.Equal(42UL, decoded.StreamSequence);
        Assert.Equal(record.Ids, decoded.Ids);
        Assert.Equal(record.Vectors, decoded.Vectors);
        Assert.Equal([9, 8], decoded.Labels![0]);
        Assert.Empty(decoded.Labels![1]);
        Assert.Equal(LogRecordCodec.GetEncodedLength(record), LogRecordCodec.Encode(record).Length);
    }

    [Fact]
    public void Version1WithTheSequenceFlagIsRefused()
    {
        byte[] bytes = LogRecordCodec.Encode(LogRecord.Delete("c", [5]).WithStreamSequence(7));
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(4), 1);
        Reseal(bytes);
        var e = Assert.Throws<LogRecordFormatException>(() => LogRecordCodec.Decode(bytes));
        Assert.Contains("unknown flags", e.Message);
    }

    [Fact]
    public void SequenceZeroUnderTheFlagIsRefused()
    {
        byte[] bytes = LogRecordCodec.Encode(LogRecord.Delete("c", [5]).WithStreamSequence(7));
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(25), 0);
        Reseal(bytes);
        var e = Assert.Throws<LogRecordFormatException>(() => LogRecordCodec.Decode(bytes));
        Assert.Contains("sequence 0", e.Message);
    }

    [Fact]
    public void EveryFlippedBitOfAVersion2RecordIsDetected()
    {
        byte[] bytes = LogRecordCodec.Encode(LogRecord.Upsert("c", 2, [1], [1, 2], [[3]]).WithStreamSequence(99));
        for (int i = 0; i < bytes.Length; i++)
            for (int bit = 0; bit < 8; bit++)
            {
                var damaged = (byte[])bytes.Clone();
                damaged[i] ^= (byte)(1 << bit);
                Assert.Throws<LogRecordFormatException>(() => LogRecordCodec.Decode(damaged));
            }
    }

    [Fact]
    public void ASequenceOfZeroCannotBeAttached() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => LogRecord.Delete("c", [5]).WithStreamSequence(0));

    private static void Reseal(byte[] bytes) =>
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(bytes.Length - 8), XxHash64.HashToUInt64(bytes.AsSpan(0, bytes.Length - 8)));

    private static byte[] Le(long value, int size)
    {
        var bytes = new byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, value);
        return bytes[..size];
    }
}
