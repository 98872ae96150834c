using System.Buffers.Binary;
using System.Text;
using AnnServer.Core.Hnsw;
using AnnServer.Core.Payloads;

namespace AnnServer.Core.Snapshots;

/// <summary>
/// The Payload section of snapshot format version 3 (docs/snapshot-format.md): the payload columns of the live nodes.
/// </summary>
/// <remarks>
/// <code>
/// u32 field count F
/// F times, in the order the fields first appeared:
///   u16 name length in bytes, the name in UTF-8
///   u8  kind (PayloadKind: 1 keyword, 2 keyword list, 3 int64, 4 int64 list, 5 double, 6 bool)
///   keyword kinds only: u32 dictionary size D, then D times: u16 length in bytes, the keyword in UTF-8 (code = position)
///   presence bitmap: ceil(N / 64) u64, bit (n mod 64) of word n / 64 set when node n has a value
///   for each node with a value, in node order:
///     keyword      i32 code
///     keyword list u32 count, count × i32 code
///     int64        i64
///     int64 list   u32 count, count × i64
///     double       f64 (never NaN)
///     bool         u8 (0 or 1)
/// </code>
/// Only nodes live in the snapshot's node table have values. All integers little-endian.
/// </remarks>
internal static class PayloadSection
{
    /// <summary>Serializes the columns for the live nodes of a frozen node table; runs under the index's map lock, so the
    /// columns and dictionaries cannot change meanwhile.</summary>
    public static byte[] Write(PayloadStore payloads, NodeState[] states)
    {
        int nodes = states.Length;
        using var stream = new MemoryStream();
        using var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        writer.Write((uint)payloads.Columns.Count);
        foreach (PayloadColumn column in payloads.Columns)
        {
            WriteString(writer, column.Name);
            writer.Write((byte)column.Kind);
            KeywordDictionary? dictionary = column switch
            {
                KeywordColumn k => k.Dictionary,
                KeywordListColumn l => l.Dictionary,
                _ => null,
            };
            if (dictionary is not null)
            {
                writer.Write((uint)dictionary.Count);
                for (int code = 0; code < dictionary.Count; code++) WriteString(writer, dictionary[code]);
            }

            var present = new ulong[(nodes + 63) / 64];
            for (int node = 0; node < nodes; node++)
                if (states[node] == NodeState.Live && column.IsPresent(node)) present[node >> 6] |= 1UL << node;
            foreach (ulong word in present) writer.Write(word);

            for (int node = 0; node < nodes; node++)
            {
                if ((present[node >> 6] & (1UL << node)) == 0) continue;
                switch (column)
                {
                    case KeywordColumn keywords:
                        writer.Write(keywords.Codes[node]);
                        break;
                    case KeywordListColumn lists:
                        int[] codes = lists.Lists[node]!;
                        writer.Write((uint)codes.Length);
                        foreach (int code in codes) writer.Write(code);
                        break;
                    case Int64Column integers:
                        writer.Write(integers.Values[node]);
                        break;
                    case Int64ListColumn lists:
                        long[] values = lists.Lists[node]!;
                        writer.Write((uint)values.Length);
                        foreach (long value in values) writer.Write(value);
                        break;
                    case DoubleColumn doubles:
                        writer.Write(doubles.Values[node]);
                        break;
                    case BoolColumn bools:
                        writer.Write(bools.Values[node]);
                        break;
                }
            }
        }
        writer.Flush();
        return stream.ToArray();
    }

    /// <summary>Reads the section into a new store; every length and code is checked against the bytes left and the
    /// limits, so a damaged section fails with <paramref name="fail"/>'s exception, never an out-of-range read.</summary>
    public static PayloadStore Read(ReadOnlySpan<byte> bytes, int nodes, Func<string, Exception> fail)
    {
        var payloads = new PayloadStore();
        var reader = new SectionReader(bytes, fail);
        uint fields = reader.UInt32();
        if (fields > PayloadLimits.MaxFieldsPerIndex) throw fail($"section Payload has {fields} fields, more than the limit of {PayloadLimits.MaxFieldsPerIndex}");
        for (int f = 0; f < fields; f++)
        {
            string name = reader.String();
            if (name.Length == 0 || name.Length > PayloadLimits.MaxFieldNameLength) throw fail($"section Payload: field {f} has an invalid name");
            var kind = (PayloadKind)reader.Byte();
            if (!Enum.IsDefined(kind)) throw fail($"section Payload: field '{name}' has unknown kind {(byte)kind}");
            if (payloads.Column(name) is not null) throw fail($"section Payload: field '{name}' appears twice");
            PayloadColumn column = payloads.AddRestoredColumn(name, kind);

            string[] dictionary = [];
            if (kind is PayloadKind.Keyword or PayloadKind.KeywordList)
            {
                uint size = reader.UInt32();
                if (size > (uint)reader.Remaining / 2) throw fail($"section Payload: field '{name}' has an impossible dictionary size {size}");
                dictionary = new string[size];
                for (int code = 0; code < size; code++) dictionary[code] = reader.String();
                // Codes are given in dictionary order, so every keyword gets back the code it had.
                KeywordDictionary restored = column is KeywordColumn k ? k.Dictionary : ((KeywordListColumn)column).Dictionary;
                foreach (string keyword in dictionary) restored.GetOrAdd(keyword);
                if (restored.Count != dictionary.Length) throw fail($"section Payload: field '{name}' has a keyword twice in its dictionary");
            }

            ReadOnlySpan<byte> present = reader.Bytes(checked((nodes + 63) / 64 * 8), $"field '{name}' presence bitmap");
            for (int node = 0; node < nodes; node++)
            {
                if ((BinaryPrimitives.ReadUInt64LittleEndian(present[(node >> 6 << 3)..]) & (1UL << node)) == 0) continue;
                PayloadValue value = kind switch
                {
                    PayloadKind.Keyword => PayloadValue.Keyword(Keyword(reader.Int32(), dictionary, name, fail)),
                    PayloadKind.KeywordList => PayloadValue.Keywords(ReadKeywords(ref reader, dictionary, name, fail)),
                    PayloadKind.Int64 => PayloadValue.Int64(reader.Int64()),
                    PayloadKind.Int64List => PayloadValue.Int64s(ReadInt64s(ref reader, name, fail)),
                    PayloadKind.Double => PayloadValue.Double(reader.Double(name)),
                    _ => PayloadValue.Bool(reader.Bool(name)),
                };
                column.Write(node, value);
            }
        }
        if (reader.Remaining != 0) throw fail($"section Payload has {reader.Remaining} bytes after its last field");
        return payloads;
    }

    private static string Keyword(int code, string[] dictionary, string name, Func<string, Exception> fail) =>
        (uint)code < (uint)dictionary.Length ? dictionary[code] : throw fail($"section Payload: field '{name}' names keyword code {code}, beyond its dictionary of {dictionary.Length}");

    private static string[] ReadKeywords(ref SectionReader reader, string[] dictionary, string name, Func<string, Exception> fail)
    {
        uint count = reader.UInt32();
        if (count > PayloadLimits.MaxListLength) throw fail($"section Payload: field '{name}' has a list of {count} elements");
        var keywords = new string[count];
        for (int i = 0; i < count; i++) keywords[i] = Keyword(reader.Int32(), dictionary, name, fail);
        return keywords;
    }

    private static long[] ReadInt64s(ref SectionReader reader, string name, Func<string, Exception> fail)
    {
        uint count = reader.UInt32();
        if (count > PayloadLimits.MaxListLength) throw fail($"section Payload: field '{name}' has a list of {count} elements");
        var values = new long[count];
        for (int i = 0; i < count; i++) values[i] = reader.Int64();
        return values;
    }

    private static void WriteString(BinaryWriter writer, string value)
    {
        byte[] utf8 = Encoding.UTF8.GetBytes(value);
        writer.Write(checked((ushort)utf8.Length));
        writer.Write(utf8);
    }

    /// <summary>Reads little-endian values, failing (never reading past the end) when the bytes run out.</summary>
    private ref struct SectionReader(ReadOnlySpan<byte> bytes, Func<string, Exception> fail)
    {
        private readonly ReadOnlySpan<byte> _bytes = bytes;
        private int _position;

        public readonly int Remaining => _bytes.Length - _position;

        public ReadOnlySpan<byte> Bytes(int length, string what)
        {
            if (length < 0 || length > Remaining) throw fail($"section Payload ends inside {what}");
            var slice = _bytes.Slice(_position, length);
            _position += length;
            return slice;
        }

        public byte Byte() => Bytes(1, "a value")[0];
        public ushort UInt16() => BinaryPrimitives.ReadUInt16LittleEndian(Bytes(2, "a length"));
        public uint UInt32() => BinaryPrimitives.ReadUInt32LittleEndian(Bytes(4, "a count"));
        public int Int32() => BinaryPrimitives.ReadInt32LittleEndian(Bytes(4, "a code"));
        public long Int64() => BinaryPrimitives.ReadInt64LittleEndian(Bytes(8, "a value"));

        public double Double(string name)
        {
            double value = BinaryPrimitives.ReadDoubleLittleEndian(Bytes(8, "a value"));
            return double.IsNaN(value) ? throw fail($"section Payload: field '{name}' holds NaN") : value;
        }

        public bool Bool(string name) => Byte() switch
        {
            0 => false,
            1 => true,
            var other => throw fail($"section Payload: field '{name}' holds bool {other}"),
        };

        public string String()
        {
            int length = UInt16();
            try
            {
                return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(Bytes(length, "a string"));
            }
            catch (DecoderFallbackException)
            {
                throw fail("section Payload holds a string that is not UTF-8");
            }
        }
    }
}
