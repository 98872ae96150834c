using AnnServer.Core.Payloads;

namespace AnnServer.Datasets;

/// <summary>A Parquet column read into a payload field of every point (<see cref="ParquetColumns.Payload"/>).</summary>
/// <param name="Column">A top-level column: string, bool, int8 to int64, uint8 to uint32, float, double, or a list of
/// strings or of those integers.</param>
/// <param name="Field">The payload field it fills (1 to <see cref="PayloadLimits.MaxFieldNameLength"/> characters).</param>
public sealed record ParquetPayloadColumn(string Column, string Field)
{
    /// <summary>Parses "column" or "column:field" as a user types it after --payload-column.</summary>
    /// <exception cref="ArgumentException">an empty column or field name, or a field name past the limit.</exception>
    public static ParquetPayloadColumn Parse(string text)
    {
        int colon = text.LastIndexOf(':');
        string column = colon < 0 ? text : text[..colon];
        string field = colon < 0 ? text : text[(colon + 1)..];
        if (column.Length == 0) throw new ArgumentException($"'{text}' names no column: use column or column:field");
        if (field.Length == 0) throw new ArgumentException($"'{text}' names no field after the colon: use column or column:field");
        if (field.Length > PayloadLimits.MaxFieldNameLength)
            throw new ArgumentException($"field name '{field[..32]}…' has {field.Length} characters, more than the limit of {PayloadLimits.MaxFieldNameLength}");
        return new ParquetPayloadColumn(column, field);
    }
}
