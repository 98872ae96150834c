using System.Diagnostics;
using AnnServer.Core;
using Microsoft.Extensions.Logging;

namespace AnnServer.Collections;

public sealed partial class Collection
{
    // One field is linked at a time: each costs a filtered search a point on half the cores.
    private readonly SemaphoreSlim _linking = new(1, 1);
    private readonly ILogger _logger;
    // As many as a compaction's copy uses (DurabilityOptions.CompactionThreads, half the cores by default), for the same reason.
    private readonly int _linkThreads;

    /// <summary>
    /// Makes <paramref name="field"/> a linked keyword field (<see cref="HnswIndex.LinkValues"/>): links the points already
    /// there on the compaction's threads (half the cores by default), on a thread of its own, while searches and writes go on (each write links its own
    /// points from the start), then checkpoints, so that the setting is in the snapshot, durable, when the call returns.
    /// A field already linked returns at once. Not cancellable once the linking began: it runs to the end (about one
    /// filtered search a point), and the caller's cancellation only stops waiting for the checkpoint.
    /// </summary>
    /// <exception cref="ArgumentException">no point has the field, it holds values of another kind, or it is one linked
    /// field too many; nothing changes.</exception>
    public async Task<CollectionStatus> LinkFieldAsync(string field, CancellationToken cancellationToken)
    {
        ThrowIfReplaying("linking a field is");
        await _linking.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Held until linked, so that a compaction's switch cannot retire it meanwhile; the compaction links the field
            // in its new index too (Compactor.LinkFieldsLinkedMeanwhile).
            IndexGeneration generation = _index.Enter();
            try
            {
                HnswIndex index = generation.Index;
                if (index.LinkedFields.Contains(field)) return Status();
                // A field no point has is refused here, unlike at creation (HnswOptions.LinkedFields reserves it): on a
                // collection with data it is more likely a typo than a field to come, and it would cost memory for nothing.
                if (!index.PayloadFields().Any(f => f.Name == field))
                    throw new ArgumentException($"no point of collection '{Name}' has a field '{field}': link a field the points have, " +
                        "or declare it in linked_fields when creating the collection", nameof(field));
                index.ValidateLinkedField(field);
                long started = Stopwatch.GetTimestamp();
                await Task.Factory.StartNew(() => index.LinkValues(field, _linkThreads), CancellationToken.None,
                    TaskCreationOptions.LongRunning, TaskScheduler.Default).ConfigureAwait(false);
                _logger.LogInformation("Collection {Name}: linked keyword field {Field} over {Nodes} nodes in {Seconds:F1} s",
                    Name, field, index.NodeCount, Stopwatch.GetElapsedTime(started).TotalSeconds);
            }
            finally
            {
                generation.Exit();
            }
            await _checkpoints.CheckpointAsync(cancellationToken).ConfigureAwait(false);
            return Status();
        }
        finally
        {
            _linking.Release();
        }
    }
}
