namespace AnnServer.Core.Payloads;

/// <summary>The kind of a payload field. A field takes its kind from the first value written to it. Persisted in
/// snapshots (the Payload section): never renumber.</summary>
public enum PayloadKind : byte
{
    /// <summary>One string, dictionary-coded per field.</summary>
    Keyword = 1,

    /// <summary>Any number of strings (possibly none), dictionary-coded per field.</summary>
    KeywordList = 2,

    Int64 = 3,

    /// <summary>Any number of 64-bit integers (possibly none).</summary>
    Int64List = 4,

    /// <summary>A finite or infinite double; NaN is refused (it would match no range and equal nothing).</summary>
    Double = 5,

    Bool = 6,
}
