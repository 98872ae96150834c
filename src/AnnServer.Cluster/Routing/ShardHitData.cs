using AnnServer.Collections;
using AnnServer.Core.Payloads;

namespace AnnServer.Cluster.Routing;

/// <summary>
/// What the hits of one shard's answer carry besides id and distance (payload fields, vector), kept by the hit's slot in
/// the shard's <see cref="BatchSearchResult.Hits"/> until the router has merged the shards' hits and knows which of them
/// the answer keeps (<see cref="CopyTo"/>). One per shard call: a hedged call's two replicas never share one.
/// </summary>
public sealed class ShardHitData(int slots) : IHitDataSink
{
    private readonly float[]?[] _vectors = new float[]?[slots];
    private readonly Payload?[] _payloads = new Payload?[slots];

    public void Vector(int hit, ReadOnlySpan<float> vector) => _vectors[hit] = vector.ToArray();

    public void Field(int hit, string name, PayloadValue value) => (_payloads[hit] ??= new Payload()).Add(name, value);

    /// <summary>Hands the data of slot <paramref name="slot"/> to <paramref name="target"/> as hit <paramref name="targetHit"/>.</summary>
    public void CopyTo(int slot, IHitDataSink target, int targetHit)
    {
        if (_vectors[slot] is { } vector) target.Vector(targetHit, vector);
        if (_payloads[slot] is { } payload)
            foreach (var (name, value) in payload) target.Field(targetHit, name, value);
    }
}
