namespace AnnServer.Storage;

/// <summary>
/// What a log record does. The numeric values are written to disk (byte 6 of every record,
/// see docs/log-format.md): never renumber them; a test freezes them.
/// </summary>
public enum LogOperation : byte
{
    /// <summary>Insert or replace the vectors (and labels) of the record's ids.</summary>
    Upsert = 1,

    /// <summary>Delete the record's ids.</summary>
    Delete = 2,

    /// <summary>Change the payloads of the record's ids without touching their vectors (format version 3): one opaque
    /// blob per id, applied as the record's <see cref="LogPayloadMode"/> says.</summary>
    SetPayload = 3,
}
