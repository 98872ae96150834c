using AnnServer.Core.Payloads;

namespace AnnServer.Collections;

/// <summary>Hands the payload fields the index reads for one hit to the search's <see cref="IHitDataSink"/>.</summary>
internal struct HitFieldVisitor(IHitDataSink sink) : IPayloadFieldVisitor
{
    public int Hit;

    public readonly void Field(string name, PayloadValue value) => sink.Field(Hit, name, value);
}
