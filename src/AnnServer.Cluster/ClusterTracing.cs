using System.Diagnostics;

namespace AnnServer.Cluster;

/// <summary>
/// Cluster mode's spans: one per shard call of the router, tagged with the shard, the replica's node and why it was
/// sent (the first call, a hedge after the shard's delay, or a retry after a failure); a call that lost its hedge race
/// is marked so. The call's trace context travels to the replica in the gRPC call's headers (W3C traceparent, sent by
/// HttpClient while it is traced), so the replica's spans join the router's trace.
/// </summary>
public static class ClusterTracing
{
    public const string SourceName = "AnnServer.Cluster";

    public static readonly ActivitySource Source = new(SourceName);

    /// <summary>Why a shard call was sent.</summary>
    public static class Attempt
    {
        public const string First = "first", Hedge = "hedge", Retry = "retry";
    }

    internal static Activity? StartShardCall(string collection, int shard, string nodeId, string attempt)
    {
        Activity? activity = Source.StartActivity("shard call", ActivityKind.Client);
        if (activity is null) return null;
        activity.SetTag("ann.collection", collection);
        activity.SetTag("ann.shard", shard);
        activity.SetTag("ann.node", nodeId);
        activity.SetTag("ann.attempt", attempt);
        return activity;
    }
}
