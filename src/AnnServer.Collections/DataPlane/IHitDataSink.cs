using AnnServer.Core.Payloads;

namespace AnnServer.Collections;

/// <summary>
/// Receives what a search's hits carry besides id and distance (<see cref="SearchParameters.Payload"/>,
/// <see cref="SearchParameters.WithVector"/>), hit by hit: the gRPC edge writes it straight into its response messages,
/// so a hit's payload costs no domain object of its own. <c>hit</c> is the hit's place in the hits the search wrote (for
/// a batch, in <see cref="BatchSearchResult.Hits"/>: query q's i-th hit is <c>q * K + i</c>). Called after the hits are
/// written, on the thread that completes the search, never concurrently.
/// </summary>
public interface IHitDataSink
{
    /// <summary>The hit's vector as stored (normalised for cosine); the span is valid during the call only.</summary>
    void Vector(int hit, ReadOnlySpan<float> vector);

    /// <summary>One selected payload field of the hit (fields the point does not have are not reported).</summary>
    void Field(int hit, string name, PayloadValue value);
}
