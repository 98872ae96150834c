using System.Diagnostics;

namespace AnnServer.Collections.Diagnostics;

/// <summary>
/// The collections library's spans (OpenTelemetry through System.Diagnostics, so this library takes no dependency on the
/// SDK): a search, a batch of searches, and a write's log commit. The host turns them on by listening to
/// <see cref="SourceName"/>; with no listener <see cref="ActivitySource.StartActivity(string, ActivityKind)"/> returns
/// null after one check, so a server without tracing pays nothing else.
/// </summary>
public static class CollectionTracing
{
    public const string SourceName = "AnnServer.Collections";

    public static readonly ActivitySource Source = new(SourceName);

    /// <summary>A search in one collection: tagged with the collection, k, ef and whether a filter applied; the hits
    /// found are added when it ends.</summary>
    internal static Activity? StartSearch(string collection, int k, int ef, bool filtered)
    {
        Activity? activity = Source.StartActivity("search");
        if (activity is null) return null;
        activity.SetTag("ann.collection", collection);
        activity.SetTag("ann.k", k);
        activity.SetTag("ann.ef", ef);
        activity.SetTag("ann.filtered", filtered);
        return activity;
    }

    /// <summary>A SearchBatch's searches in one collection, one span for all: tagged as a search, with the number of
    /// queries and of those that carry a filter.</summary>
    internal static Activity? StartSearchBatch(string collection, int k, int ef, IReadOnlyList<SearchQuery> queries)
    {
        Activity? activity = Source.StartActivity("search batch");
        if (activity is null) return null;
        int filtered = 0;
        foreach (SearchQuery query in queries)
            if (query.Filter is not null) filtered++;
        activity.SetTag("ann.collection", collection);
        activity.SetTag("ann.k", k);
        activity.SetTag("ann.ef", ef);
        activity.SetTag("ann.queries", queries.Count);
        activity.SetTag("ann.filtered_queries", filtered);
        return activity;
    }

    /// <summary>A write from the moment it waits for the collection's write lock until its records are durable in the
    /// log (with --durability strict, on disk): what a writer waits for before its write is applied.</summary>
    internal static Activity? StartLogCommit(string collection, int records)
    {
        Activity? activity = Source.StartActivity("log commit");
        if (activity is null) return null;
        activity.SetTag("ann.collection", collection);
        activity.SetTag("ann.records", records);
        return activity;
    }
}
