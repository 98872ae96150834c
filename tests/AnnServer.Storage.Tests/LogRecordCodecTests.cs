using System.Buffers.Binary;
using System.IO.Hashing;

namespace AnnServer.Storage.Tests;

public class LogRecordCodecTests
{
    [Fact]
    public void PersistedOperationValuesNeverChange()
    {
        // Written to disk in byte 6 of every record: renumbering would misread old logs.
        Assert.Equal(1, (byte)LogOperation.Upsert);
        Assert.Equal(2, (byte)LogOperation.Delete);
        Assert.Equal(3, (byte)LogOperation.SetPayload);
        Assert.Equal(3, Enum.GetValues<LogOperation>().Length);
        // Byte 21 of a SetPayload record.
        Assert.Equal(0, (byte)LogPayloadMode.None);
        Assert.Equal(1, (byte)LogPayloadMode.Set);
        Assert.Equal(2, (byte)LogPayloadMode.Replace);
        Assert.Equal(3, (byte)LogPayloadMode.DeleteFields);
        Assert.Equal(4, Enum.GetValues<LogPayloadMode>().Length);
        Assert.Equal(0, (int)LogDurability.Strict);
        Assert.Equal(1, (int)LogDurability.Relaxed);
    }

    [Fact]
    public void UpsertWithLabelsRoundTrips()
    {
        var record = LogRecord.Upsert("pins", 3, [10, -20, long.MaxValue],
            [1f, 2f, 3f, -0f, float.Epsilon, float.MaxValue, 7f, 8f, 9f], [[1, 2], null!, []]);

        var decoded = LogRecordCodec.Decode(LogRecordCodec.Encode(record));

        Assert.Equal(LogOperation.Upsert, decoded.Operation);
        Assert.Equal("pins", decoded.Collection);
        Assert.Equal(3, decoded.Dimension);
        Assert.Equal(record.Ids, decoded.Ids);
        Assert.Equal(record.Vectors, decoded.Vectors);
        Assert.Equal([[1, 2], [], []], decoded.Labels);
    }

    [Fact]
    public void UpsertWithoutLabelsRoundTripsWithNullLabels()
    {
        var record = Records.Upsert(100, 100, 128);

        var decoded = LogRecordCodec.Decode(LogRecordCodec.Encode(record));

        Assert.Equal(record.Ids, decoded.Ids);
        Assert.Equal(record.Vectors, decoded.Vectors);
        Assert.Null(decoded.Labels);
    }

    [Fact]
    public void DeleteRoundTrips()
    {
        var decoded = LogRecordCodec.Decode(LogRecordCodec.Encode(LogRecord.Delete("produits-été", [5, 6, 7])));

        Assert.Equal(LogOperation.Delete, decoded.Operation);
        Assert.Equal("produits-été", decoded.Collection);
        Assert.Equal(0, decoded.Dimension);
        Assert.Equal([5L, 6L, 7L], decoded.Ids);
        Assert.Null(decoded.Vectors);
        Assert.Null(decoded.Labels);
    }

    [Fact]
    public void EncodedLengthMatchesTheBytesWritten()
    {
        var record = Records.Upsert(1, 7, 5, labels: true);
        Assert.Equal(LogRecordCodec.GetEncodedLength(record), LogRecordCodec.Encode(record).Length);
    }

    [Fact]
    public void GoldenBytesMatchTheDocumentedLayout()
    {
        // docs/log-format.md, byte by byte. If this test fails, the format changed: bump
        // LogRecordCodec.FormatVersion, keep a reader for version 1, and update the doc.
        var record = LogRecord.Upsert("c", 2, [1, -2], [1.5f, -0.25f, 0f, 3f], [[7], []]);
        var expected = new List<byte>();
        expected.AddRange("ANLR"u8.ToArray());                 // 0  magic
        expected.AddRange(Le16(1));                             // 4  version
        expected.Add(1);                                        // 6  operation = upsert
        expected.Add(0b11);                                     // 7  flags: vectors, labels
        expected.AddRange(Le32(24 + 1 + 16 + 16 + 8 + 4 + 8));  // 8  record length = 77
        expected.AddRange(Le32(2));                             // 12 count
        expected.AddRange(Le32(2));                             // 16 dimension
        expected.Add(1);                                        // 20 name length
        expected.AddRange([0, 0, 0]);                           // 21 reserved
        expected.Add((byte)'c');                                // 24 name
        expected.AddRange(Le64(1));                             // ids
        expected.AddRange(Le64(-2));
        foreach (float f in new[] { 1.5f, -0.25f, 0f, 3f })     // vectors
            expected.AddRange(Le32(BitConverter.SingleToInt32Bits(f)));
        expected.AddRange(Le32(1));                             // label counts
        expected.AddRange(Le32(0));
        expected.AddRange(Le32(7));                             // label values
        var checksum = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(checksum, XxHash64.HashToUInt64(expected.ToArray()));
        expected.AddRange(checksum);

        var actual = LogRecordCodec.Encode(record);

        Assert.Equal(77, actual.Length);
        Assert.Equal(Convert.ToHexString(expected.ToArray()), Convert.ToHexString(actual));
        Assert.Equal(
            "414E4C52010001034D000000020000000200000001000000630100000000000000FEFFFFFFFFFFFFFF0000C03F000080BE000000000000404001000000000000000700000030540C3BEB69B721",
            Convert.ToHexString(actual));
    }

    [Fact]
    public void EveryFlippedBitIsDetected()
    {
        var bytes = LogRecordCodec.Encode(Records.Upsert(40, 3, 4, labels: true));
        for (int i = 0; i < bytes.Length; i++)
        {
            for (int bit = 0; bit < 8; bit++)
            {
                var damaged = (byte[])bytes.Clone();
                damaged[i] ^= (byte)(1 << bit);
                var e = Assert.Throws<LogRecordFormatException>(() => LogRecordCodec.Decode(damaged));
                Assert.False(string.IsNullOrWhiteSpace(e.Message));
            }
        }
    }

    [Fact]
    public void EveryTruncationIsDetected()
    {
        var bytes = LogRecordCodec.Encode(Records.Upsert(40, 3, 4, labels: true));
        for (int length = 0; length < bytes.Length; length++)
            Assert.Throws<LogRecordFormatException>(() => LogRecordCodec.Decode(bytes.AsSpan(0, length)));
    }

    [Fact]
    public void ShortInputNamesTheMinimumSize()
    {
        var e = Assert.Throws<LogRecordFormatException>(() => LogRecordCodec.Decode(new byte[10]));
        Assert.Contains("shorter than the minimum", e.Message);
    }

    [Fact]
    public void TruncatedRecordNamesDeclaredAndPresentLengths()
    {
        var bytes = LogRecordCodec.Encode(Records.Upsert(1, 2, 4));
        var e = Assert.Throws<LogRecordFormatException>(() => LogRecordCodec.Decode(bytes.AsSpan(0, bytes.Length - 5)));
        Assert.Contains($"declares {bytes.Length} bytes but {bytes.Length - 5} are present", e.Message);
    }

    [Fact]
    public void WrongMagicIsNamed()
    {
        var bytes = LogRecordCodec.Encode(Records.Upsert(1, 1, 4));
        "XXXX"u8.CopyTo(bytes);
        var e = Assert.Throws<LogRecordFormatException>(() => LogRecordCodec.Decode(bytes));
        Assert.Contains("magic", e.Message);
    }

    [Fact]
    public void FutureVersionAsksForAnUpgrade()
    {
        var bytes = LogRecordCodec.Encode(Records.Upsert(1, 1, 4));
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(4), 4);
        var e = Assert.Throws<LogRecordFormatException>(() => LogRecordCodec.Decode(bytes));
        Assert.Contains("version 4 is newer", e.Message);
    }

    [Fact]
    public void FlippedPayloadByteIsReportedAsChecksumMismatch()
    {
        var bytes = LogRecordCodec.Encode(Records.Upsert(1, 4, 8));
        bytes[60] ^= 0x40;
        var e = Assert.Throws<LogRecordFormatException>(() => LogRecordCodec.Decode(bytes));
        Assert.Contains("checksum mismatch", e.Message);
    }

    // The cases below re-seal the checksum after lying about a length, as a buggy or hostile
    // writer could: the decoder must still refuse before allocating anything large.

    [Fact]
    public void HugeIdCountIsRefusedWithoutAllocating()
    {
        var bytes = Reseal(LogRecordCodec.Encode(Records.Upsert(1, 2, 4)), b => BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(12), int.MaxValue));
        var e = Assert.Throws<LogRecordFormatException>(() => LogRecordCodec.Decode(bytes));
        Assert.Contains($"id count {int.MaxValue} does not fit", e.Message);
    }

    [Fact]
    public void HugeDimensionIsRefused()
    {
        var bytes = Reseal(LogRecordCodec.Encode(Records.Upsert(1, 2, 4)), b => BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(16), int.MaxValue));
        var e = Assert.Throws<LogRecordFormatException>(() => LogRecordCodec.Decode(bytes));
        Assert.Contains($"dimension {int.MaxValue}", e.Message);
    }

    [Fact]
    public void VectorsLargerThanTheRecordAreRefused()
    {
        // Dimension 4 -> 40000: within the format's limit, but 2 x 40000 floats are not there.
        var bytes = Reseal(LogRecordCodec.Encode(Records.Upsert(1, 2, 4)), b => BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(16), 40000));
        var e = Assert.Throws<LogRecordFormatException>(() => LogRecordCodec.Decode(bytes));
        Assert.Contains("vectors (2 x 40000 floats) do not fit", e.Message);
    }

    [Fact]
    public void HugeLabelCountIsRefused()
    {
        var record = LogRecord.Upsert("c", 1, [1], [0.5f], [[3]]);
        int labelCountOffset = 24 + 1 + 8 + 4;
        var bytes = Reseal(LogRecordCodec.Encode(record), b => BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(labelCountOffset), int.MaxValue));
        var e = Assert.Throws<LogRecordFormatException>(() => LogRecordCodec.Decode(bytes));
        Assert.Contains("labels (2147483647 values) do not fit", e.Message);
    }

    [Fact]
    public void NegativeLabelCountIsRefused()
    {
        var record = LogRecord.Upsert("c", 1, [1], [0.5f], [[3]]);
        int labelCountOffset = 24 + 1 + 8 + 4;
        var bytes = Reseal(LogRecordCodec.Encode(record), b => BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(labelCountOffset), -1));
        var e = Assert.Throws<LogRecordFormatException>(() => LogRecordCodec.Decode(bytes));
        Assert.Contains("negative", e.Message);
    }

    [Fact]
    public void UnknownOperationIsRefused()
    {
        var bytes = Reseal(LogRecordCodec.Encode(Records.Upsert(1, 1, 4)), b => b[6] = 9);
        var e = Assert.Throws<LogRecordFormatException>(() => LogRecordCodec.Decode(bytes));
        Assert.Contains("unknown operation 9", e.Message);
    }

    [Fact]
    public void InvalidUtf8CollectionNameIsRefused()
    {
        var bytes = Reseal(LogRecordCodec.Encode(LogRecord.Delete("a", [1])), b => b[24] = 0xFF);
        var e = Assert.Throws<LogRecordFormatException>(() => LogRecordCodec.Decode(bytes));
        Assert.Contains("not valid UTF-8", e.Message);
    }

    [Fact]
    public void RandomBytesNeverEscapeAsAnotherException()
    {
        var random = new Random(5);
        var template = LogRecordCodec.Encode(Records.Upsert(1, 3, 4, labels: true));
        for (int trial = 0; trial < 2000; trial++)
        {
            var bytes = new byte[random.Next(0, 200)];
            random.NextBytes(bytes);
            if (trial % 2 == 0 && bytes.Length >= 24)
            {
                template.AsSpan(0, 8).CopyTo(bytes);  // valid magic and version, random rest
                BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(8), bytes.Length);
                bytes = Reseal(bytes, _ => { });
            }
            Assert.Throws<LogRecordFormatException>(() => LogRecordCodec.Decode(bytes));
        }
    }

    private static byte[] Reseal(byte[] bytes, Action<byte[]> change)
    {
        change(bytes);
        int body = bytes.Length - 8;
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(body), XxHash64.HashToUInt64(bytes.AsSpan(0, body)));
        return bytes;
    }

    private static byte[] Le16(ushort v) { var b = new byte[2]; BinaryPrimitives.WriteUInt16LittleEndian(b, v); return b; }
    private static byte[] Le32(int v) { var b = new byte[4]; BinaryPrimitives.WriteInt32LittleEndian(b, v); return b; }
    private static byte[] Le64(long v) { var b = new byte[8]; BinaryPrimitives.WriteInt64LittleEndian(b, v); return b; }
}
