using AnnServer.Core;
using AnnServer.Core.Filtering;

namespace AnnServer.Collections;

// The collection's stored id sets: a cache beside the durable data, never in the log or a snapshot.
public sealed partial class Collection
{
    /// <summary>The sets this collection's filters can name (<see cref="InIdSet"/>).</summary>
    public CollectionIdSets IdSets { get; }

    private readonly IIdSetSource _idSetSource;

    /// <summary>The filter with the id sets to look its set names up in.</summary>
    private SearchFilter? WithIdSets(SearchFilter? filter) =>
        filter?.Where is null ? filter : SearchFilter.WithIdSets(filter, _idSetSource);
}
