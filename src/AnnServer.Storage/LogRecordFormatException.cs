namespace AnnServer.Storage;

/// <summary>
/// A byte sequence is not a valid log record: wrong magic, unknown version, bad checksum,
/// a length that does not fit the record, and so on. The message names what was wrong.
/// </summary>
public sealed class LogRecordFormatException : Exception
{
    public LogRecordFormatException(string message) : base(message) { }
}
