namespace AnnServer.Datasets;

/// <summary>Which columns of a Parquet input hold the vectors, optionally the ids, and the payload fields.</summary>
/// <param name="VectorColumn">A top-level list column of float, double or float16 (list or fixed_size_list).</param>
/// <param name="IdColumn">A top-level int64 or int32 column; null to number the rows from 0 across all parts.</param>
public sealed record ParquetColumns(string? VectorColumn, string? IdColumn = null)
{
    /// <summary>Columns read into payload fields, in this order (<see cref="ParquetPayloadColumn"/>).</summary>
    public IReadOnlyList<ParquetPayloadColumn> Payload { get; init; } = [];

    /// <summary>Every top-level column but the vector and id columns (and those named in <see cref="Payload"/>) is read
    /// into the payload field of its own name.</summary>
    public bool AllOtherColumnsAsPayload { get; init; }

    /// <summary>Whether any payload column is read.</summary>
    public bool ReadsPayload => Payload.Count > 0 || AllOtherColumnsAsPayload;
}
