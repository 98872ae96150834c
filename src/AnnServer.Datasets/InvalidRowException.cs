namespace AnnServer.Datasets;

/// <summary>Why a row was refused.</summary>
public enum InvalidRowReason
{
    /// <summary>The row's dimension differs from row 0's (TEXMEX files only).</summary>
    WrongDimension,

    /// <summary>A component is NaN or ±infinity.</summary>
    NonFinite,
}

/// <summary>A row that cannot be indexed: the message names the file, the row (from 0) and the problem.
/// Raised only when invalid rows are rejected rather than skipped. (Not an <see cref="InvalidDataException"/>, which is
/// sealed: the file is well formed, one of its values is not usable.)</summary>
public sealed class InvalidRowException(string message, long row, InvalidRowReason reason) : Exception(message)
{
    public long Row { get; } = row;
    public InvalidRowReason Reason { get; } = reason;
}
