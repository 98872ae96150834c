namespace AnnServer.Datasets;

/// <summary>Why a row was refused.</summary>
public enum InvalidRowReason
{
    /// <summary>The row's dimension differs from row 0's (TEXMEX and Parquet files only).</summary>
    WrongDimension,

    /// <summary>A component is NaN or ±infinity (or, read from doubles, beyond the float range).</summary>
    NonFinite,

    /// <summary>The vector, or one of its components, is null (Parquet only).</summary>
    NullVector,

    /// <summary>The row's id is null (Parquet only).</summary>
    NullId,

    /// <summary>The row's id was already used by an earlier row (Parquet only).</summary>
    DuplicateId,

    /// <summary>A payload value breaks a payload limit or is NaN (Parquet only).</summary>
    InvalidPayload,
}

/// <summary>A row that cannot be indexed: the message names the file, the row (from 0) and the problem.
/// Raised only when invalid rows are rejected rather than skipped. (Not an <see cref="InvalidDataException"/>, which is
/// sealed: the file is well formed, one of its values is not usable.)</summary>
public sealed class InvalidRowException(string message, long row, InvalidRowReason reason) : Exception(message)
{
    public long Row { get; } = row;
    public InvalidRowReason Reason { get; } = reason;
}

/// <summary>Why a reader found the row it just read unusable, beyond the dimension and finiteness that
/// <see cref="RowValidator"/> checks itself. <paramref name="Problem"/> completes the row's location: "the vector is null".</summary>
public sealed record RowDefect(InvalidRowReason Reason, string Problem);
