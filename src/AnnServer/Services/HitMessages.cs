using AnnServer.Collections;
using AnnServer.Core;
using AnnServer.Core.Payloads;
using AnnServer.Protocol.V1;
using PayloadValue = AnnServer.Core.Payloads.PayloadValue;

namespace AnnServer.Services;

/// <summary>
/// The <see cref="Hit"/> messages of a search that asked for payloads or vectors, made as the collection hands over each
/// hit's data (<see cref="IHitDataSink"/>), so the data goes straight into the response: nothing per hit but the
/// messages themselves. Slot i is the hit's place in the search's hits (for a batch, q · k + i).
/// </summary>
internal sealed class HitMessages(int slots, bool withPayload) : IHitDataSink
{
    private readonly bool _withPayload = withPayload;
    private readonly Hit?[] _hits = new Hit?[slots];

    public void Vector(int hit, ReadOnlySpan<float> vector)
    {
        var message = new HitVector();
        message.Values.Capacity = vector.Length;
        foreach (float component in vector) message.Values.Add(component);
        At(hit).Vector = message;
    }

    public void Field(int hit, string name, PayloadValue value)
    {
        Hit message = At(hit);
        (message.Payload ??= new HitPayload()).Fields[name] = PayloadMapping.ToProto(value);
    }

    /// <summary>The message of slot <paramref name="slot"/> (made now if no data came for it), carrying <paramref name="found"/>.
    /// A hit whose point has none of the fields asked for gets an empty payload: it was asked for.</summary>
    public Hit Take(int slot, SearchHit found)
    {
        Hit message = _hits[slot] ?? new Hit();
        if (_withPayload) message.Payload ??= new HitPayload();
        message.Id = found.Id;
        message.Distance = found.Distance;
        return message;
    }

    private Hit At(int slot) => _hits[slot] ??= new Hit();
}
