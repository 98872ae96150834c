namespace AnnServer.Core.Payloads;

/// <summary>Receives a point's payload fields one at a time (<see cref="HnswIndex.VisitPayload"/>), so that a reader can
/// copy them where they go (a response message) without a <see cref="Payload"/> in between. Implement it on a struct:
/// the index's method is generic over it, so the calls are direct.</summary>
public interface IPayloadFieldVisitor
{
    void Field(string name, PayloadValue value);
}
