namespace AnnServer.Storage;

/// <summary>
/// How a <see cref="LogOperation.SetPayload"/> record changes the payloads of its ids. Written to disk (byte 21 of a
/// version-3 record, docs/log-format.md): never renumber; a test freezes the values. The log does not read the blobs;
/// what each mode's blob holds is the engine's contract (docs/payload-format.md).
/// </summary>
public enum LogPayloadMode : byte
{
    /// <summary>Not a SetPayload record (byte 21 of every other record is 0).</summary>
    None = 0,

    /// <summary>The blob is a payload: its fields are set, the point's other fields are kept.</summary>
    Set = 1,

    /// <summary>The blob is a payload that replaces the point's whole payload; an empty blob clears it.</summary>
    Replace = 2,

    /// <summary>The blob is a list of field names, removed from the point's payload.</summary>
    DeleteFields = 3,
}
