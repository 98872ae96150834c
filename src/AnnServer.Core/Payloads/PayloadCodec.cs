using System.Buffers.Binary;
using System.Text;

namespace AnnServer.Core.Payloads;

/// <summary>
/// Binary form of one point's payload, or of a list of field names (what a "delete fields" update names), as the
/// write-ahead log carries them: the log (AnnServer.Storage) stores these bytes as an opaque blob per point and never
/// reads them; the engine encodes them before a write and decodes them when a record is replayed.
/// </summary>
/// <remarks>
/// Layout (all integers little-endian; docs/payload-format.md has the table and an example):
/// <code>
///  u8   layout version = 1
///  u8   content: 'P' (0x50) = a payload, 'N' (0x4E) = a field-name list
///  u16  field count F (≤ PayloadLimits.MaxFieldsPerPoint)
///  F times:
///    u16 name length in UTF-8 bytes, the name (strict UTF-8, 1..MaxFieldNameLength characters, no name twice)
///    payload only:
///      u8 kind (PayloadKind: 1 keyword, 2 keyword list, 3 int64, 4 int64 list, 5 double, 6 bool)
///      keyword      u16 length in bytes, UTF-8
///      keyword list u16 count, count × (u16 length, UTF-8)
///      int64        i64
///      int64 list   u16 count, count × i64
///      double       f64 (never NaN)
///      bool         u8 (0 or 1)
/// </code>
/// Lengths are u16 because the limits (in UTF-16 characters) bound every name and keyword to at most 3 bytes per
/// character (a surrogate pair is 2 characters and 4 bytes), and every list to 1024 elements. The blob has no magic or
/// checksum of its own: it only ever lives inside a log record, whose magic and checksum cover it; the content byte
/// tells a payload from a name list, so the one cannot be read as the other.
/// Decoding checks every length and count against the bytes left before it allocates, enforces
/// <see cref="PayloadLimits"/>, and throws <see cref="InvalidDataException"/> naming the field at fault: a damaged
/// blob costs at most its own size and never reads out of bounds.
/// </remarks>
public static class PayloadCodec
{
    /// <summary>The layout version this build writes and reads.</summary>
    public const byte LayoutVersion = 1;

    /// <summary>Content byte of an encoded payload.</summary>
    public const byte PayloadContent = (byte)'P';

    /// <summary>Content byte of an encoded field-name list.</summary>
    public const byte FieldNamesContent = (byte)'N';

    /// <summary>Version, content, field count.</summary>
    public const int HeaderSize = 4;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Encodes <paramref name="payload"/>.</summary>
    /// <exception cref="ArgumentException">The payload breaks a <see cref="PayloadLimits"/> limit, gives a field twice, holds
    /// NaN, a default value or a string that is not valid Unicode; what is refused here would be refused on decode.</exception>
    public static byte[] Encode(Payload payload)
    {
        ArgumentNullException.ThrowIfNull(payload);
        CheckFieldCount(payload.Count);
        using var stream = new MemoryStream();
        using var writer = new BinaryWriter(stream);
        writer.Write(LayoutVersion);
        writer.Write(PayloadContent);
        writer.Write((ushort)payload.Count);
        for (int i = 0; i < payload.Count; i++)
        {
            var (name, value) = payload[i];
            CheckName(name);
            for (int j = 0; j < i; j++)
                if (payload[j].Name == name) throw new ArgumentException($"payload gives field '{name}' twice", nameof(payload));
            WriteString(writer, name, "field name");
            writer.Write((byte)value.Kind);
            switch (value.Kind)
            {
                case PayloadKind.Keyword:
                    WriteKeyword(writer, name, value.AsKeyword());
                    break;
                case PayloadKind.KeywordList:
                    string[] keywords = value.KeywordArray;
                    CheckListLength(name, keywords.Length);
                    writer.Write((ushort)keywords.Length);
                    foreach (string keyword in keywords) WriteKeyword(writer, name, keyword);
                    break;
                case PayloadKind.Int64:
                    writer.Write(value.AsInt64());
                    break;
                case PayloadKind.Int64List:
                    long[] values = value.Int64Array;
                    CheckListLength(name, values.Length);
                    writer.Write((ushort)values.Length);
                    foreach (long v in values) writer.Write(v);
                    break;
                case PayloadKind.Double:
                    double d = value.AsDouble();
                    if (double.IsNaN(d)) throw new ArgumentException($"payload field '{name}' is NaN", nameof(payload));
                    writer.Write(d);
                    break;
                case PayloadKind.Bool:
                    writer.Write(value.AsBool());
                    break;
                default:
                    throw new ArgumentException($"payload field '{name}' has no value (a default PayloadValue)", nameof(payload));
            }
        }
        writer.Flush();
        return stream.ToArray();
    }

    /// <summary>Decodes a payload that occupies exactly <paramref name="bytes"/>.</summary>
    /// <exception cref="InvalidDataException">The bytes are not a valid payload; the message says what is wrong.</exception>
    public static Payload Decode(ReadOnlySpan<byte> bytes)
    {
        var reader = new BlobReader(bytes);
        int count = reader.Header(PayloadContent, "payload");
        var fields = new List<PayloadField>(count);
        for (int f = 0; f < count; f++)
        {
            string name = reader.Name(f);
            foreach (var field in fields)
                if (field.Name == name) throw new InvalidDataException($"payload gives field '{name}' twice");
            byte kind = reader.Byte($"the kind of field '{name}'");
            PayloadValue value = (PayloadKind)kind switch
            {
                PayloadKind.Keyword => PayloadValue.Keyword(reader.Keyword(name)),
                PayloadKind.KeywordList => PayloadValue.Keywords(reader.Keywords(name)),
                PayloadKind.Int64 => PayloadValue.Int64(BinaryPrimitives.ReadInt64LittleEndian(reader.Bytes(8, $"the value of field '{name}'"))),
                PayloadKind.Int64List => PayloadValue.Int64s(reader.Int64s(name)),
                PayloadKind.Double => PayloadValue.Double(reader.Double(name)),
                PayloadKind.Bool => PayloadValue.Bool(reader.Bool(name)),
                _ => throw new InvalidDataException($"payload field '{name}' has unknown kind {kind}"),
            };
            fields.Add(new PayloadField(name, value));
        }
        reader.End("payload");
        return new Payload(fields);
    }

    /// <summary>Encodes a list of field names (the fields a "delete fields" update removes).</summary>
    /// <exception cref="ArgumentException">More names than <see cref="PayloadLimits.MaxFieldsPerPoint"/>, a name empty, too
    /// long, not valid Unicode or given twice.</exception>
    public static byte[] EncodeFieldNames(IReadOnlyList<string> names)
    {
        ArgumentNullException.ThrowIfNull(names);
        CheckFieldCount(names.Count);
        using var stream = new MemoryStream();
        using var writer = new BinaryWriter(stream);
        writer.Write(LayoutVersion);
        writer.Write(FieldNamesContent);
        writer.Write((ushort)names.Count);
        for (int i = 0; i < names.Count; i++)
        {
            CheckName(names[i]);
            for (int j = 0; j < i; j++)
                if (names[j] == names[i]) throw new ArgumentException($"field name '{names[i]}' is given twice", nameof(names));
            WriteString(writer, names[i], "field name");
        }
        writer.Flush();
        return stream.ToArray();
    }

    /// <summary>Decodes a field-name list that occupies exactly <paramref name="bytes"/>.</summary>
    /// <exception cref="InvalidDataException">The bytes are not a valid name list; the message says what is wrong.</exception>
    public static string[] DecodeFieldNames(ReadOnlySpan<byte> bytes)
    {
        var reader = new BlobReader(bytes);
        int count = reader.Header(FieldNamesContent, "field-name list");
        var names = new string[count];
        for (int i = 0; i < count; i++)
        {
            names[i] = reader.Name(i);
            for (int j = 0; j < i; j++)
                if (names[j] == names[i]) throw new InvalidDataException($"field-name list gives '{names[i]}' twice");
        }
        reader.End("field-name list");
        return names;
    }

    private static void CheckFieldCount(int count)
    {
        if (count > PayloadLimits.MaxFieldsPerPoint)
            throw new ArgumentException($"{count} fields, more than the limit MaxFieldsPerPoint ({PayloadLimits.MaxFieldsPerPoint})");
    }

    private static void CheckName(string name)
    {
        if (string.IsNullOrEmpty(name)) throw new ArgumentException("a field has an empty name");
        if (name.Length > PayloadLimits.MaxFieldNameLength)
            throw new ArgumentException($"field name '{name[..32]}…' has {name.Length} characters, more than the limit MaxFieldNameLength ({PayloadLimits.MaxFieldNameLength})");
    }

    private static void CheckListLength(string name, int length)
    {
        if (length > PayloadLimits.MaxListLength)
            throw new ArgumentException($"field '{name}' has {length} elements, more than the limit MaxListLength ({PayloadLimits.MaxListLength})");
    }

    private static void WriteKeyword(BinaryWriter writer, string name, string keyword)
    {
        if (keyword is null) throw new ArgumentException($"field '{name}' has a null keyword");
        if (keyword.Length > PayloadLimits.MaxKeywordLength)
            throw new ArgumentException($"field '{name}' has a keyword of {keyword.Length} characters, more than the limit MaxKeywordLength ({PayloadLimits.MaxKeywordLength})");
        WriteString(writer, keyword, $"a keyword of field '{name}'");
    }

    /// <summary>u16 byte length and the strict UTF-8 bytes; the limits keep every string the codec writes under 64 KiB.</summary>
    private static void WriteString(BinaryWriter writer, string value, string what)
    {
        byte[] utf8;
        try
        {
            utf8 = StrictUtf8.GetBytes(value);
        }
        catch (EncoderFallbackException)
        {
            throw new ArgumentException($"{what} is not valid Unicode (unpaired surrogate)");
        }
        writer.Write(checked((ushort)utf8.Length));
        writer.Write(utf8);
    }

    /// <summary>Reads a blob front to back; every read is checked against the bytes left and fails with
    /// <see cref="InvalidDataException"/> rather than read past the end.</summary>
    private ref struct BlobReader(ReadOnlySpan<byte> bytes)
    {
        private readonly ReadOnlySpan<byte> _bytes = bytes;
        private int _position;

        private readonly int Remaining => _bytes.Length - _position;

        /// <summary>Checks version and content and returns the field count, bounded by the limit and by the bytes left
        /// (every field needs at least its u16 name length).</summary>
        public int Header(byte content, string what)
        {
            if (_bytes.Length < HeaderSize)
                throw new InvalidDataException($"{what} is {_bytes.Length} bytes, shorter than its {HeaderSize}-byte header");
            byte version = _bytes[0];
            if (version != LayoutVersion)
                throw new InvalidDataException($"{what} layout version {version} is not supported (this build reads {LayoutVersion})");
            if (_bytes[1] != content)
                throw new InvalidDataException($"{what} has content byte 0x{_bytes[1]:X2}, expected 0x{content:X2} ('{(char)content}')");
            int count = BinaryPrimitives.ReadUInt16LittleEndian(_bytes[2..]);
            _position = HeaderSize;
            if (count > PayloadLimits.MaxFieldsPerPoint)
                throw new InvalidDataException($"{what} has {count} fields, more than the limit MaxFieldsPerPoint ({PayloadLimits.MaxFieldsPerPoint})");
            if (count * 2 > Remaining)
                throw new InvalidDataException($"{what} field count {count} does not fit the {Remaining} bytes left");
            return count;
        }

        public readonly void End(string what)
        {
            if (Remaining != 0) throw new InvalidDataException($"{what} has {Remaining} bytes after its last field");
        }

        public ReadOnlySpan<byte> Bytes(int length, string what)
        {
            if (length > Remaining) throw new InvalidDataException($"payload ends inside {what} ({length} bytes needed, {Remaining} left)");
            var slice = _bytes.Slice(_position, length);
            _position += length;
            return slice;
        }

        public byte Byte(string what) => Bytes(1, what)[0];

        private ushort UInt16(string what) => BinaryPrimitives.ReadUInt16LittleEndian(Bytes(2, what));

        public string Name(int index)
        {
            string name = String($"the name of field #{index}");
            if (name.Length == 0) throw new InvalidDataException($"field #{index} has an empty name");
            if (name.Length > PayloadLimits.MaxFieldNameLength)
                throw new InvalidDataException($"field #{index} has a name of {name.Length} characters, more than the limit MaxFieldNameLength ({PayloadLimits.MaxFieldNameLength})");
            return name;
        }

        public string Keyword(string name)
        {
            string keyword = String($"a keyword of field '{name}'");
            if (keyword.Length > PayloadLimits.MaxKeywordLength)
                throw new InvalidDataException($"field '{name}' has a keyword of {keyword.Length} characters, more than the limit MaxKeywordLength ({PayloadLimits.MaxKeywordLength})");
            return keyword;
        }

        public string[] Keywords(string name)
        {
            int count = ListCount(name, minItemBytes: 2);
            var keywords = new string[count];
            for (int i = 0; i < count; i++) keywords[i] = Keyword(name);
            return keywords;
        }

        public long[] Int64s(string name)
        {
            int count = ListCount(name, minItemBytes: 8);
            var values = new long[count];
            for (int i = 0; i < count; i++) values[i] = BinaryPrimitives.ReadInt64LittleEndian(Bytes(8, $"an element of field '{name}'"));
            return values;
        }

        public double Double(string name)
        {
            double value = BinaryPrimitives.ReadDoubleLittleEndian(Bytes(8, $"the value of field '{name}'"));
            return double.IsNaN(value) ? throw new InvalidDataException($"payload field '{name}' holds NaN") : value;
        }

        public bool Bool(string name) => Byte($"the value of field '{name}'") switch
        {
            0 => false,
            1 => true,
            var b => throw new InvalidDataException($"payload field '{name}' holds bool byte {b}, not 0 or 1"),
        };

        /// <summary>A list's element count, checked against the limit and against the bytes left (each element needs
        /// at least <paramref name="minItemBytes"/>) before the caller allocates.</summary>
        private int ListCount(string name, int minItemBytes)
        {
            int count = UInt16($"the element count of field '{name}'");
            if (count > PayloadLimits.MaxListLength)
                throw new InvalidDataException($"field '{name}' has {count} elements, more than the limit MaxListLength ({PayloadLimits.MaxListLength})");
            if ((long)count * minItemBytes > Remaining)
                throw new InvalidDataException($"field '{name}' element count {count} does not fit the {Remaining} bytes left");
            return count;
        }

        private string String(string what)
        {
            int length = UInt16($"the length of {what}");
            ReadOnlySpan<byte> utf8 = Bytes(length, what);
            try
            {
                return StrictUtf8.GetString(utf8);
            }
            catch (DecoderFallbackException)
            {
                throw new InvalidDataException($"{what} is not valid UTF-8");
            }
        }
    }
}
