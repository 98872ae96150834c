using System.Buffers.Binary;
using AnnServer.Core.Payloads;
using FsCheck;
using FsCheck.Fluent;
using Microsoft.FSharp.Core;

namespace AnnServer.Core.Tests.Payloads;

/// <summary>The binary form of a payload and of a field-name list that the write-ahead log carries (docs/payload-format.md).</summary>
public class PayloadCodecTests
{
    private static Payload EveryKind() => new()
    {
        { "k", "ab" },
        { "ks", PayloadValue.Keywords("x", "") },
        { "i", -2L },
        { "is", PayloadValue.Int64s(1) },
        { "d", 1.5 },
        { "b", true },
    };

    [Fact]
    public void GoldenBytesMatchTheDocumentedLayout()
    {
        // docs/payload-format.md, byte by byte. If this test fails the layout changed: bump PayloadCodec.LayoutVersion,
        // keep a reader for version 1 (logs are replayed across upgrades) and update the doc.
        var expected = new List<byte> { 1, (byte)'P', 6, 0 };         // version, content, field count
        expected.AddRange([1, 0, (byte)'k', 1, 2, 0, (byte)'a', (byte)'b']);                  // keyword "ab"
        expected.AddRange([2, 0, (byte)'k', (byte)'s', 2, 2, 0, 1, 0, (byte)'x', 0, 0]);      // keyword list ["x", ""]
        expected.AddRange([1, 0, (byte)'i', 3, 0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]); // int64 -2
        expected.AddRange([2, 0, (byte)'i', (byte)'s', 4, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0]);     // int64 list [1]
        expected.AddRange([1, 0, (byte)'d', 5, 0, 0, 0, 0, 0, 0, 0xF8, 0x3F]);                // double 1.5
        expected.AddRange([1, 0, (byte)'b', 6, 1]);                                           // bool true

        byte[] actual = PayloadCodec.Encode(EveryKind());

        Assert.Equal(Convert.ToHexString([.. expected]), Convert.ToHexString(actual));
        Assert.Equal(68, actual.Length);
        Assert.Equal(
            "0150060001006B010200616202006B73020200010078000001006903FEFFFFFFFFFFFFFF02006973040100010000000000000001006405000000000000F83F0100620601",
            Convert.ToHexString(actual));
    }

    [Fact]
    public void GoldenBytesOfAFieldNameList()
    {
        Assert.Equal("014E020001006102006263", Convert.ToHexString(PayloadCodec.EncodeFieldNames(["a", "bc"])));
    }

    [Fact]
    public void EveryKindRoundTrips()
    {
        Payload decoded = PayloadCodec.Decode(PayloadCodec.Encode(EveryKind()));

        Assert.Equal(EveryKind().ToList(), decoded.ToList());
    }

    [Fact]
    public void AnEmptyPayloadRoundTrips()
    {
        Assert.Empty(PayloadCodec.Decode(PayloadCodec.Encode(new Payload())));
    }

    [Fact]
    public void FieldNamesRoundTrip()
    {
        Assert.Equal(["price", "été", "𝄞"], PayloadCodec.DecodeFieldNames(PayloadCodec.EncodeFieldNames(["price", "été", "𝄞"])));
    }

    [Fact]
    public void APayloadIsNotReadAsANameListNorTheOtherWay()
    {
        var e = Assert.Throws<InvalidDataException>(() => PayloadCodec.DecodeFieldNames(PayloadCodec.Encode(EveryKind())));
        Assert.Contains("content byte 0x50", e.Message);
        Assert.Throws<InvalidDataException>(() => PayloadCodec.Decode(PayloadCodec.EncodeFieldNames(["a"])));
    }

    [Fact]
    public void EncodeRefusesWhatDecodeWouldRefuse()
    {
        Assert.Contains("NaN", Assert.Throws<ArgumentException>(() => PayloadCodec.Encode(new Payload { { "d", double.NaN } })).Message);
        Assert.Contains("twice", Assert.Throws<ArgumentException>(() => PayloadCodec.Encode(new Payload { { "a", 1L }, { "a", 2L } })).Message);
        Assert.Contains("MaxKeywordLength", Assert.Throws<ArgumentException>(() =>
            PayloadCodec.Encode(new Payload { { "k", new string('x', PayloadLimits.MaxKeywordLength + 1) } })).Message);
        Assert.Contains("MaxListLength", Assert.Throws<ArgumentException>(() =>
            PayloadCodec.Encode(new Payload { { "l", PayloadValue.Int64s(new long[PayloadLimits.MaxListLength + 1]) } })).Message);
        Assert.Contains("not valid Unicode", Assert.Throws<ArgumentException>(() => PayloadCodec.Encode(new Payload { { "k", "\ud800" } })).Message);
        Assert.Contains("no value", Assert.Throws<ArgumentException>(() => PayloadCodec.Encode(new Payload { { "v", default } })).Message);
    }

    [Fact]
    public void AFieldCountBeyondTheLimitIsRefusedBeforeReadingFields()
    {
        byte[] bytes = [1, (byte)'P', 0xFF, 0xFF];
        var e = Assert.Throws<InvalidDataException>(() => PayloadCodec.Decode(bytes));
        Assert.Contains("65535 fields, more than the limit MaxFieldsPerPoint", e.Message);
    }

    [Fact]
    public void AListCountLargerThanTheBytesLeftIsRefusedBeforeAllocating()
    {
        byte[] bytes = PayloadCodec.Encode(new Payload { { "is", PayloadValue.Int64s(1) } });
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(4 + 2 + 2 + 1), 1000);
        var e = Assert.Throws<InvalidDataException>(() => PayloadCodec.Decode(bytes));
        Assert.Contains("field 'is' element count 1000 does not fit the 8 bytes left", e.Message);
    }

    [Fact]
    public void TrailingBytesAreRefused()
    {
        byte[] bytes = [.. PayloadCodec.Encode(EveryKind()), 0];
        Assert.Contains("1 bytes after its last field", Assert.Throws<InvalidDataException>(() => PayloadCodec.Decode(bytes)).Message);
    }

    [Fact]
    public void AnUnknownVersionIsNamed()
    {
        byte[] bytes = PayloadCodec.Encode(EveryKind());
        bytes[0] = 2;
        Assert.Contains("layout version 2 is not supported", Assert.Throws<InvalidDataException>(() => PayloadCodec.Decode(bytes)).Message);
    }

    [Fact]
    public void EveryTruncationIsRefused()
    {
        byte[] bytes = PayloadCodec.Encode(EveryKind());
        for (int length = 0; length < bytes.Length; length++)
            Assert.Throws<InvalidDataException>(() => PayloadCodec.Decode(bytes.AsSpan(0, length)));
    }

    private static Config Cases(int cases) => Config.QuickThrowOnFailure
        .WithMaxTest(cases)
        .WithQuietOnSuccess(true)
        .WithReplay(FSharpOption<Replay>.Some(new Replay(new Rnd(20261207, 0x9E3779B97F4A7C15UL | 1), FSharpOption<int>.None)));

    private static readonly Gen<string> Names = Gen.Elements("a", "b", "color", "price", "été", "𝄞", new string('n', PayloadLimits.MaxFieldNameLength));

    private static readonly Gen<string> Keywords = Gen.OneOf(
        Gen.Elements("", "red", "blue", "日本", "😀", new string('k', PayloadLimits.MaxKeywordLength)),
        ArbMap.Default.GeneratorFor<string>().Where(s => s is not null && s.Length <= 40 && IsValidUnicode(s)));

    private static readonly Gen<PayloadValue> Values = Gen.OneOf(
        Keywords.Select(PayloadValue.Keyword),
        Gen.Choose(0, 5).SelectMany(n => Gen.ArrayOf(Keywords, n)).Select(PayloadValue.Keywords),
        ArbMap.Default.GeneratorFor<long>().Select(PayloadValue.Int64),
        Gen.Choose(0, 5).SelectMany(n => Gen.ArrayOf(ArbMap.Default.GeneratorFor<long>(), n)).Select(PayloadValue.Int64s),
        ArbMap.Default.GeneratorFor<double>().Where(d => !double.IsNaN(d)).Select(PayloadValue.Double),
        ArbMap.Default.GeneratorFor<bool>().Select(PayloadValue.Bool));

    private static readonly Gen<Payload> Payloads =
        Gen.Choose(0, 6).SelectMany(n => Gen.ArrayOf(Names.SelectMany(name => Values.Select(value => new PayloadField(name, value))), n))
            .Select(fields => new Payload(fields.DistinctBy(f => f.Name)));

    [Fact]
    public void RandomPayloadsRoundTrip()
    {
        Prop.ForAll(Arb.From(Payloads), payload =>
        {
            Payload decoded = PayloadCodec.Decode(PayloadCodec.Encode(payload));
            if (!payload.SequenceEqual(decoded)) throw new Exception($"{payload} decoded as {decoded}");
        }).Check(Cases(500));
    }

    [Fact]
    public void RandomMutationsDecodeOrThrowInvalidDataExceptionOnly()
    {
        var mutations = Payloads.SelectMany(payload => Gen.Choose(1, 4).SelectMany(n =>
            Gen.ArrayOf(Gen.Zip(Gen.Choose(0, int.MaxValue), Gen.Choose(0, 255)), n).Select(changes => (payload, changes))));
        Prop.ForAll(Arb.From(mutations), input =>
        {
            byte[] bytes = PayloadCodec.Encode(input.payload);
            foreach (var (at, value) in input.changes) bytes[at % bytes.Length] = (byte)value;
            try
            {
                PayloadCodec.Decode(bytes);
            }
            catch (InvalidDataException)
            {
            }
        }).Check(Cases(2000));
    }

    [Fact]
    public void RandomBytesDecodeOrThrowInvalidDataExceptionOnly()
    {
        var random = new Random(18);
        for (int trial = 0; trial < 5000; trial++)
        {
            var bytes = new byte[random.Next(0, 64)];
            random.NextBytes(bytes);
            if (bytes.Length >= 2)
            {
                bytes[0] = 1;
                bytes[1] = trial % 2 == 0 ? PayloadCodec.PayloadContent : PayloadCodec.FieldNamesContent;
            }
            try
            {
                if (trial % 2 == 0) PayloadCodec.Decode(bytes);
                else PayloadCodec.DecodeFieldNames(bytes);
            }
            catch (InvalidDataException)
            {
            }
        }
    }

    private static bool IsValidUnicode(string s)
    {
        for (int i = 0; i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1])) i++;
            else if (char.IsSurrogate(s[i])) return false;
        }
        return true;
    }
}
