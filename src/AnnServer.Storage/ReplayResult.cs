namespace AnnServer.Storage;

/// <summary>What <see cref="CollectionLog.Replay"/> did.</summary>
/// <param name="FromPosition">Where replay started (after resolving 0 to the log's begin).</param>
/// <param name="EndPosition">Position just past the last record applied or skipped: a checkpoint taken now covers the log up to here.</param>
/// <param name="CommittedPosition">End of the committed log when replay started; replay reads nothing beyond it.</param>
/// <param name="RecordsApplied">Records handed to the callback.</param>
/// <param name="BytesRead">Sum of the applied records' encoded sizes.</param>
/// <param name="Elapsed">Wall time of the replay, callback included.</param>
/// <param name="DroppedTail">Damage below the committed end found by this replay: everything from its position to <paramref name="CommittedPosition"/> was not applied. Recorded so that later replays skip exactly the same range only when the log was opened with <see cref="CollectionLogOptions.AcceptLogLoss"/>; otherwise nothing on disk changed. Null when the log was clean.</param>
/// <param name="DroppedRecords">Records in <paramref name="DroppedTail"/> that FASTER could still frame, the damaged one included: a lower bound of the records lost (0 when the damage is a missing segment file, whose records cannot be counted).</param>
/// <param name="SkippedRanges">Damaged ranges found by earlier replays that this one stepped over.</param>
public sealed record ReplayResult(
    long FromPosition,
    long EndPosition,
    long CommittedPosition,
    long RecordsApplied,
    long BytesRead,
    TimeSpan Elapsed,
    LogDamage? DroppedTail,
    IReadOnlyList<LogDamage> SkippedRanges,
    long DroppedRecords = 0)
{
    /// <summary>Replay speed; 0 when nothing was applied.</summary>
    public double RecordsPerSecond => RecordsApplied == 0 ? 0 : RecordsApplied / Math.Max(Elapsed.TotalSeconds, 1e-9);
}
