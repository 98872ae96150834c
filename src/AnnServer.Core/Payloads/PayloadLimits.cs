namespace AnnServer.Core.Payloads;

/// <summary>Bounds on what a payload write may hold; a write past one is refused whole, naming the limit.</summary>
public static class PayloadLimits
{
    /// <summary>Fields one point may carry.</summary>
    public const int MaxFieldsPerPoint = 64;

    /// <summary>Distinct fields an index may hold: every field is a column and a term in each filter's planning.</summary>
    public const int MaxFieldsPerIndex = 256;

    /// <summary>Characters of a field name.</summary>
    public const int MaxFieldNameLength = 128;

    /// <summary>Characters of one keyword (a value, or a value a filter matches).</summary>
    public const int MaxKeywordLength = 1024;

    /// <summary>Elements of one keyword-list or int64-list value.</summary>
    public const int MaxListLength = 1024;
}
