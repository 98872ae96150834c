namespace AnnServer.Collections;

/// <summary>Whether a collection serves calls. There is no "loading" state: until every collection found at start has
/// been loaded or has failed, the registry refuses every call (<see cref="CollectionsLoadingException"/>).</summary>
public enum CollectionState
{
    /// <summary>Loaded: serves every call.</summary>
    Ready,

    /// <summary>Its files could not be loaded (a damaged snapshot, damage below the committed end of its log, a log that
    /// does not belong to its snapshot): it is listed and described with the reason, refuses data-plane calls with
    /// FAILED_PRECONDITION, and its files are left as they were for an operator; DropCollection removes them.</summary>
    Failed,
}
