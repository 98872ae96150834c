namespace AnnServer.Storage;

/// <summary>What <see cref="CollectionLog.Replay"/> did.</summary>
/// <param name="FromPosition">Where replay started (after resolving 0 to the log's begin).</param>
/// <param name="EndPosition">Position just past the last record applied or skipped: a checkpoint taken now covers the log up to here.</param>
/// <param name="CommittedPosition">End of the committed log when replay started; replay reads nothing beyond it.</param>
/// <param name="RecordsApplied">Records handed to the callback.</param>
/// <param name="BytesRead">Sum of the applied records' encoded sizes.</param>
/// <param name="Elapsed">Wall time of the replay, callback included.</param>
/// <param name="DroppedTail">Damage found by this replay: everything from its position to <paramref name="CommittedPosition"/> was not applied, and is recorded so that later replays skip exactly the same range. Null when the log was clean.</param>
/// <param name="SkippedRanges">Damaged ranges found by earlier replays that this one stepped over.</param>
public sealed record ReplayResult(
    long FromPosition,
    long EndPosition,
    long CommittedPosition,
    long RecordsApplied,
    long BytesRead,
    TimeSpan Elapsed,
    LogDamage? DroppedTail,
    IReadOnlyList<LogDamage> SkippedRanges)
{
    /// <summary>Replay speed; 0 when nothing was applied.</summary>
    public double RecordsPerSecond => RecordsApplied == 0 ? 0 : RecordsApplied / Math.Max(Elapsed.TotalSeconds, 1e-9);
}
