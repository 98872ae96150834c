namespace AnnServer.Collections;

/// <summary>Which payload fields a read answers with: none, all the point has, or only the named ones (in that order,
/// those the point has).</summary>
public sealed class PayloadSelection
{
    private PayloadSelection(bool all, IReadOnlyList<string>? fields)
    {
        IsAll = all;
        Fields = fields;
    }

    public static PayloadSelection None { get; } = new(false, null);
    public static PayloadSelection All { get; } = new(true, null);

    /// <summary>Only <paramref name="fields"/>; an empty list selects none.</summary>
    public static PayloadSelection Only(IReadOnlyList<string> fields) => fields.Count == 0 ? None : new(false, fields);

    public bool IsAll { get; }

    /// <summary>The named fields; null for <see cref="None"/> and <see cref="All"/>.</summary>
    public IReadOnlyList<string>? Fields { get; }

    public bool IsNone => !IsAll && Fields is null;
}
