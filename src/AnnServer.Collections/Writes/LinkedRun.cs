using AnnServer.Core;

namespace AnnServer.Collections;

/// <summary>
/// A run of upserts (<see cref="PendingWriteQueue.TakeUpsertRun"/>) whose points the applier has linked into the graph,
/// invisible, and which waits for the log commit covering <see cref="Last"/> to make them live (<see cref="WritePipeline"/>).
/// <see cref="Points"/> is null when linking failed (<see cref="Failure"/>): the writes then fail once durable.
/// </summary>
internal sealed record LinkedRun(List<PendingWrite> Writes, LinkedPoints? Points, Exception? Failure)
{
    public PendingWrite Last => Writes[^1];
}
