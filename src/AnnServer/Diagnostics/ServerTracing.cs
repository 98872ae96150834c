using System.Diagnostics;
using AnnServer.Cluster;
using AnnServer.Collections.Diagnostics;

namespace AnnServer.Diagnostics;

/// <summary>
/// The host's own spans (the wait for a search slot), and the names of every AnnServer span source the tracer listens
/// to. A request's span itself is ASP.NET Core's (one per gRPC or JSON call, carrying the incoming trace context).
/// </summary>
public static class ServerTracing
{
    public const string SourceName = "AnnServer";

    public static readonly ActivitySource Source = new(SourceName);

    /// <summary>Every source of AnnServer's spans: this host's, the collections library's and cluster mode's.</summary>
    public static readonly string[] SourceNames = [SourceName, CollectionTracing.SourceName, ClusterTracing.SourceName];

    /// <summary>A search waiting in the queue for a slot (--max-concurrent-searches): only a search that waits has one.</summary>
    internal static Activity? StartAdmissionWait(int queuedAhead)
    {
        Activity? activity = Source.StartActivity("admission wait");
        activity?.SetTag("ann.queued", queuedAhead);
        return activity;
    }
}
