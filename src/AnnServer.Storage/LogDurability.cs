namespace AnnServer.Storage;

/// <summary>When <see cref="CollectionLog.AppendAsync"/> acknowledges a record.</summary>
public enum LogDurability
{
    /// <summary>
    /// After a commit covering the record is on disk (the log files are opened with O_SYNC, so a
    /// finished write is on stable storage). Concurrent appends share one commit. The default.
    /// </summary>
    Strict = 0,

    /// <summary>
    /// As soon as the record is in the log's memory; a timer commits every
    /// <see cref="CollectionLogOptions.RelaxedCommitInterval"/>. A crash loses the records
    /// acknowledged since the last commit (at most about one interval of writes).
    /// </summary>
    Relaxed = 1,
}
