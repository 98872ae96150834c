using AnnServer.Core;
using AnnServer.Core.Payloads;
using AnnServer.Storage;

namespace AnnServer.Collections;

/// <summary>
/// A validated change of the payloads of <see cref="Ids"/>, as its log record says it (<see cref="LogPayloadMode"/>):
/// set the fields of <see cref="Payload"/> (others kept), replace the payload by it (null: clear), or remove the fields
/// named in <see cref="Fields"/>. Applied id by id, in order; unknown ids are skipped and counted, as replay skips them.
/// </summary>
internal sealed class PayloadChange(LogPayloadMode mode, long[] ids, Payload? payload, string[]? fields)
{
    public LogPayloadMode Mode { get; } = mode;
    public long[] Ids { get; } = ids;
    public Payload? Payload { get; } = payload;
    public string[]? Fields { get; } = fields;

    /// <summary>Applies the change to <paramref name="index"/>; returns how many ids exist there.</summary>
    public int ApplyTo(HnswIndex index)
    {
        int updated = 0;
        foreach (long id in Ids)
        {
            bool found = Mode switch
            {
                LogPayloadMode.Set => index.SetPayload(id, Payload!),
                LogPayloadMode.Replace => index.ClearPayload(id) && (Payload is not { Count: > 0 } replacement || index.SetPayload(id, replacement)),
                LogPayloadMode.DeleteFields => index.DeletePayloadFields(id, Fields!),
                _ => throw new InvalidOperationException($"payload change of mode {Mode}"),
            };
            if (found) updated++;
        }
        return updated;
    }
}
