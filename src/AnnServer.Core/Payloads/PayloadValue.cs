namespace AnnServer.Core.Payloads;

/// <summary>
/// One value of a payload field as a caller gives or reads it: a keyword, a keyword list, an int64, an int64 list, a double
/// or a bool. A small struct (a kind, eight bytes and one reference): cheap to build for every point of a batch.
/// </summary>
/// <remarks>List values keep the caller's array; the index copies what it stores, so changing the array later changes
/// nothing stored.</remarks>
public readonly struct PayloadValue : IEquatable<PayloadValue>
{
    // Int64, Bool (0 or 1) and Double (its bits) live in _scalar; Keyword (string), KeywordList (string[]) and
    // Int64List (long[]) in _reference.
    private readonly long _scalar;
    private readonly object? _reference;

    private PayloadValue(PayloadKind kind, long scalar, object? reference)
    {
        Kind = kind;
        _scalar = scalar;
        _reference = reference;
    }

    public PayloadKind Kind { get; }

    public static PayloadValue Keyword(string value) => new(PayloadKind.Keyword, 0, value ?? throw new ArgumentNullException(nameof(value)));
    public static PayloadValue Keywords(params string[] values) => new(PayloadKind.KeywordList, 0, values ?? throw new ArgumentNullException(nameof(values)));
    public static PayloadValue Int64(long value) => new(PayloadKind.Int64, value, null);
    public static PayloadValue Int64s(params long[] values) => new(PayloadKind.Int64List, 0, values ?? throw new ArgumentNullException(nameof(values)));
    public static PayloadValue Double(double value) => new(PayloadKind.Double, BitConverter.DoubleToInt64Bits(value), null);
    public static PayloadValue Bool(bool value) => new(PayloadKind.Bool, value ? 1 : 0, null);

    public static implicit operator PayloadValue(string value) => Keyword(value);
    public static implicit operator PayloadValue(long value) => Int64(value);
    public static implicit operator PayloadValue(double value) => Double(value);
    public static implicit operator PayloadValue(bool value) => Bool(value);

    public string AsKeyword() => Kind == PayloadKind.Keyword ? (string)_reference! : throw WrongKind(PayloadKind.Keyword);
    public IReadOnlyList<string> AsKeywords() => Kind == PayloadKind.KeywordList ? (string[])_reference! : throw WrongKind(PayloadKind.KeywordList);
    public long AsInt64() => Kind == PayloadKind.Int64 ? _scalar : throw WrongKind(PayloadKind.Int64);
    public IReadOnlyList<long> AsInt64s() => Kind == PayloadKind.Int64List ? (long[])_reference! : throw WrongKind(PayloadKind.Int64List);
    public double AsDouble() => Kind == PayloadKind.Double ? BitConverter.Int64BitsToDouble(_scalar) : throw WrongKind(PayloadKind.Double);
    public bool AsBool() => Kind == PayloadKind.Bool ? _scalar != 0 : throw WrongKind(PayloadKind.Bool);

    internal string[] KeywordArray => (string[])_reference!;
    internal long[] Int64Array => (long[])_reference!;

    public bool Equals(PayloadValue other)
    {
        if (Kind != other.Kind) return false;
        return Kind switch
        {
            PayloadKind.Keyword => (string)_reference! == (string)other._reference!,
            PayloadKind.KeywordList => ((string[])_reference!).AsSpan().SequenceEqual((string[])other._reference!),
            PayloadKind.Int64List => ((long[])_reference!).AsSpan().SequenceEqual((long[])other._reference!),
            _ => _scalar == other._scalar,
        };
    }

    public override bool Equals(object? obj) => obj is PayloadValue other && Equals(other);

    public override int GetHashCode() => Kind switch
    {
        PayloadKind.Keyword => HashCode.Combine(Kind, (string)_reference!),
        PayloadKind.KeywordList => HashCode.Combine(Kind, ((string[])_reference!).Length),
        PayloadKind.Int64List => HashCode.Combine(Kind, ((long[])_reference!).Length),
        _ => HashCode.Combine(Kind, _scalar),
    };

    public static bool operator ==(PayloadValue left, PayloadValue right) => left.Equals(right);
    public static bool operator !=(PayloadValue left, PayloadValue right) => !left.Equals(right);

    public override string ToString() => Kind switch
    {
        PayloadKind.Keyword => $"\"{_reference}\"",
        PayloadKind.KeywordList => $"[{string.Join(", ", ((string[])_reference!).Select(k => $"\"{k}\""))}]",
        PayloadKind.Int64 => _scalar.ToString(),
        PayloadKind.Int64List => $"[{string.Join(", ", (long[])_reference!)}]",
        PayloadKind.Double => AsDouble().ToString("R"),
        PayloadKind.Bool => _scalar != 0 ? "true" : "false",
        _ => "(none)",
    };

    private InvalidOperationException WrongKind(PayloadKind wanted) => new($"the value is {Kind}, not {wanted}");
}
