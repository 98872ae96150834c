namespace AnnServer.Collections;

/// <summary>Whether a collection serves calls. Until every collection found at start has been loaded or has failed, the
/// registry refuses every call (<see cref="CollectionsLoadingException"/>): <see cref="Loading"/> is only a snapshot
/// loaded into the running server.</summary>
public enum CollectionState
{
    /// <summary>Loaded: serves every call.</summary>
    Ready,

    /// <summary>Loaded, serving searches and reads, while the writes its log holds beyond the snapshot are inserted into its
    /// graph after a restart (<see cref="DurabilityOptions.BackgroundReplayPoints"/>): reads see every acknowledged write
    /// (the points not inserted yet are scanned exactly), writes and checkpoints are refused with UNAVAILABLE until the
    /// replay ends.</summary>
    Replaying,

    /// <summary>Its files could not be loaded (a damaged snapshot, damage below the committed end of its log, a log that
    /// does not belong to its snapshot): it is listed and described with the reason, refuses data-plane calls with
    /// FAILED_PRECONDITION, and its files are left as they were for an operator; DropCollection removes them.</summary>
    Failed,

    /// <summary>A snapshot being loaded into the running server (<see cref="SnapshotLoader"/>): listed and described with
    /// its progress, its name taken, data-plane calls refused with UNAVAILABLE until it serves.</summary>
    Loading,
}
