using AnnServer.Core;
using Microsoft.Extensions.Logging;

namespace AnnServer.Collections;

/// <summary>
/// A log tail inserted into the graph on the thread pool while the collection serves (see <see cref="ReplayingTail"/>
/// for how reads stay exact meanwhile). Writes and checkpoints are refused until it ends (the collection checks
/// <see cref="Collection.IsReplaying"/>): a write applied before the tail would break log order, and a snapshot taken
/// now would cover a position whose records are not all in it.
/// </summary>
internal sealed class BackgroundReplay
{
    private readonly CancellationTokenSource _stop = new();

    /// <summary>Reads the final state of every id in the tail (see <see cref="ReplayingTail"/>); nothing is applied
    /// until <see cref="Start"/>.</summary>
    public BackgroundReplay(LogTail tail, HnswIndex index)
    {
        Tail = new ReplayingTail(tail.Records, index);
        _records = tail;
        _index = index;
    }

    private readonly LogTail _records;
    private readonly HnswIndex _index;

    public ReplayingTail Tail { get; }

    /// <summary>Completes when the replay has ended: applied, failed (logged) or stopped.</summary>
    public Task Completion { get; private set; } = Task.CompletedTask;

    /// <param name="finished">called once every record is applied, before <see cref="Completion"/> completes.</param>
    /// <param name="failed">called when applying fails (a bug: the records were validated before they were logged).</param>
    /// <param name="beforeRecord">tests: see <see cref="DurabilityOptions.BeforeBackgroundReplayRecord"/>.</param>
    public void Start(string name, Action<TimeSpan> finished, Action<Exception> failed, Action<int>? beforeRecord, ILogger logger)
    {
        LogTail tail = _records;
        HnswIndex index = _index;
        ReplayingTail progress = Tail;
        logger.LogInformation(
            "Collection {Name}: serving while {Points} points of its log ({Records} records) are inserted into the graph; searches scan " +
            "the points not inserted yet exactly, writes and checkpoints are refused until the replay ends",
            name, tail.Points, tail.Records.Count);
        CancellationToken stop = _stop.Token;
        Completion = Task.Run(() =>
        {
            try
            {
                finished(LogReplayer.Apply(tail, index, name, logger, progress, beforeRecord, stop));
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                logger.LogInformation("Collection {Name}: log replay stopped with {Left} of {Records} records left (the collection is closing); " +
                    "the next start replays them", name, tail.Records.Count - progress.AppliedRecords, tail.Records.Count);
            }
            catch (Exception e)
            {
                logger.LogError(e, "Collection {Name}: the log replay failed after {Applied} of {Records} records", name,
                    progress.AppliedRecords, tail.Records.Count);
                failed(e);
            }
        });
    }

    /// <summary>Stops the replay between two records and waits for it (the collection is closing: the index must not be
    /// written once it is disposed). The records left are replayed at the next start.</summary>
    public async Task StopAsync()
    {
        _stop.Cancel();
        await Completion.ConfigureAwait(false);
    }
}
