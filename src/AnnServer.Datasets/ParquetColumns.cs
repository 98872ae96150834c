namespace AnnServer.Datasets;

/// <summary>Which columns of a Parquet input hold the vectors and, optionally, the ids.</summary>
/// <param name="VectorColumn">A top-level list column of float, double or float16 (list or fixed_size_list).</param>
/// <param name="IdColumn">A top-level int64 or int32 column; null to number the rows from 0 across all parts.</param>
public sealed record ParquetColumns(string? VectorColumn, string? IdColumn = null);
