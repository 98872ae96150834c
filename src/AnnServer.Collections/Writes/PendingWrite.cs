namespace AnnServer.Collections;

/// <summary>
/// One Upsert, Delete or payload-change request between the moment its log records are enqueued (which fixes its place in the order of
/// writes) and the moment it is applied to the index. <see cref="PendingWriteQueue"/> keeps these in log order, and
/// <see cref="WritePipeline"/> applies the head once it is durable (Strict) or at once (Relaxed); the request's caller
/// awaits <see cref="Done"/>.
/// </summary>
internal sealed class PendingWrite
{
    private volatile bool _durable;

    private PendingWrite(UpsertBatch? upsert, long[]? deleteIds, PayloadChange? payloadChange, int recordCount)
    {
        Upsert = upsert;
        DeleteIds = deleteIds;
        PayloadChange = payloadChange;
        RecordCount = recordCount;
    }

    public static PendingWrite ForUpsert(UpsertBatch batch, int recordCount) => new(batch, null, null, recordCount);

    public static PendingWrite ForDelete(long[] ids, int recordCount) => new(null, ids, null, recordCount);

    public static PendingWrite ForPayloadChange(PayloadChange change, int recordCount) => new(null, null, change, recordCount);

    /// <summary>The points of an upsert; null for any other write.</summary>
    public UpsertBatch? Upsert { get; }

    /// <summary>The ids of a delete; null for any other write.</summary>
    public long[]? DeleteIds { get; }

    /// <summary>The change of a payload write; null for any other write.</summary>
    public PayloadChange? PayloadChange { get; }

    /// <summary>Log records the request was written as (more than one only for a batch larger than a log page).</summary>
    public int RecordCount { get; }

    /// <summary>Log position just past the request's last record. Set before the write is queued.</summary>
    public long EndPosition { get; set; }

    /// <summary>A cluster replica's write: the record's sequence in its shard's stream; 0 for a request.</summary>
    public ulong StreamSequence { get; set; }

    /// <summary>True once the request may be applied: its records are committed (Strict) or enqueued (Relaxed).</summary>
    public bool IsDurable => _durable;

    public void MarkDurable() => _durable = true;

    /// <summary>Completed once the request has been applied to the index (or failed).</summary>
    public TaskCompletionSource<WriteOutcome> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>What applying a <see cref="PendingWrite"/> did; <see cref="LogPosition"/> is just past its last record.
/// <see cref="Updated"/> counts the ids of a payload change that exist; <see cref="NotFound"/> those of a delete or a
/// payload change that do not.</summary>
internal readonly record struct WriteOutcome(int Inserted, int Replaced, int Deleted, int NotFound, long LogPosition, int Updated = 0);
