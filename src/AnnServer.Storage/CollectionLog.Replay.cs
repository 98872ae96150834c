using System.Buffers;
using System.Diagnostics;
using FASTER.core;

namespace AnnServer.Storage;

public sealed partial class CollectionLog
{
    /// <summary>
    /// Reads the committed records from <paramref name="fromPosition"/> (0 = the log's begin) to
    /// the end of the committed log, in log order, and hands each to <paramref name="apply"/>
    /// with the position just past it. Meant to run once after <see cref="Open"/>, before appends.
    /// <para>
    /// Replay reads nothing beyond the committed end that FASTER's commit metadata gives, so a torn
    /// tail (an append whose commit never completed, never acknowledged in Strict mode) is never
    /// seen and is not damage. Anything found below the committed end is: a record that fails its
    /// checks (FASTER framing, length, magic, version, checksum, or a gap in the log) or a segment
    /// file that is missing or too short ends the replay cleanly before it, and the result's
    /// <see cref="ReplayResult.DroppedTail"/> names its position and the reason. Only with
    /// <see cref="CollectionLogOptions.AcceptLogLoss"/> is the range recorded in the folder, so
    /// that later replays skip exactly that range and go on with the records appended after it;
    /// without it the replay writes nothing. Exceptions thrown by <paramref name="apply"/> propagate.
    /// </para>
    /// </summary>
    /// <exception cref="InvalidOperationException">
    /// <paramref name="fromPosition"/> is before the log's begin (records it needs were truncated)
    /// or beyond its committed end (the log does not belong with that snapshot).
    /// </exception>
    public ReplayResult Replay(long fromPosition, Action<LogRecord, long> apply)
    {
        ArgumentNullException.ThrowIfNull(apply);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _closing) != 0, this);
        EnsureRecordBoundary(fromPosition, nameof(fromPosition));
        var clock = Stopwatch.StartNew();

        long begin = BeginPosition, end = CommittedPosition;
        long start = fromPosition == 0 ? begin : fromPosition;
        if (start < begin)
            throw new InvalidOperationException(
                $"replay from position {start} was asked, but the log in {Directory} begins at {begin}: " +
                "the records in between were truncated, so that snapshot cannot be brought up to date from this log");
        if (start > end)
            throw new InvalidOperationException(
                $"replay from position {start} was asked, but the log in {Directory} is committed only up to {end}: " +
                "the snapshot is newer than the log (was the log folder replaced or deleted?)");

        var skipped = new List<LogDamage>();
        if (_damaged.Containing(start) is { } inside)
        {
            skipped.Add(inside);
            start = inside.EndPosition;
        }

        long expected = start, applied = 0, bytes = 0, droppedRecords = 0;
        LogDamage? dropped = null;
        long scanEnd = end;
        while (expected < end)
        {
            // A missing or short segment file is found before FASTER reads it: FASTER would read
            // zeros (or fail) there, and the reason would not say which file is gone.
            scanEnd = FirstMissingSegment(expected, end, out string? missing) ?? end;
            var damage = ScanRange(expected, scanEnd, apply, ref applied, ref bytes, out expected);
            if (damage is null && missing is not null)
            {
                damage = new LogDamage(expected, end, missing);
            }
            else if (damage is null && expected < end)
            {
                // FASTER reads a zero length field as end-of-page padding and jumps to the next
                // page; past the committed end it just stops. Committed records always run up
                // to the committed end, so stopping short means a header was zeroed.
                damage = new LogDamage(expected, end,
                    $"records stop at {expected} but the log is committed up to {end} (zeroed record header)");
            }
            if (damage is null)
                break;
            if (_damaged.StartingAt(damage.Position) is { } known && known.EndPosition > damage.Position)
            {
                // Found by an earlier replay and already dropped then: step over the same range.
                skipped.Add(known);
                expected = known.EndPosition;
                continue;
            }
            dropped = damage with { EndPosition = end };
            // Never read into a missing segment: only the records before it are counted.
            droppedRecords = dropped.Position < scanEnd ? CountFramedRecords(dropped.Position, scanEnd) : 0;
            if (Options.AcceptLogLoss)
                _damaged.Add(dropped);
            break;
        }

        return new ReplayResult(start, expected, end, applied, bytes, clock.Elapsed, dropped, skipped, droppedRecords);
    }

    /// <summary>
    /// The start of the first segment that the committed range [<paramref name="from"/>, <paramref name="end"/>) needs
    /// and whose file is missing or shorter than the committed bytes in it; null if every file is there.
    /// </summary>
    private long? FirstMissingSegment(long from, long end, out string? reason)
    {
        reason = null;
        int bits = Options.SegmentSizeBits;
        for (long segment = from >> bits; segment <= (end - 1) >> bits; segment++)
        {
            long segmentStart = segment << bits;
            long needed = Math.Min(end, (segment + 1) << bits) - segmentStart;
            var file = new FileInfo(Path.Combine(Directory, $"{DeviceFileName}.{segment}"));
            if (!file.Exists)
                reason = $"the segment file {file.Name} is missing, but the committed log [{BeginPosition}, {end}) needs its positions " +
                    $"[{Math.Max(from, segmentStart)}, {segmentStart + needed})";
            else if (file.Length < needed)
                reason = $"the segment file {file.Name} is {file.Length} bytes, but the committed log runs {needed} bytes into it (to position {segmentStart + needed}): it was cut short";
            if (reason is not null)
                return Math.Max(from, segmentStart);
        }
        return null;
    }

    /// <summary>Records FASTER can still frame in [<paramref name="from"/>, <paramref name="end"/>), damaged or not,
    /// until its framing fails: how many records a damaged range holds, at least.</summary>
    private long CountFramedRecords(long from, long end)
    {
        long count = 0;
        try
        {
            using var iterator = _log.Scan(from, end);
            while (iterator.GetNext(MemoryPool<byte>.Shared, out IMemoryOwner<byte> owner, out _, out _, out _))
            {
                owner.Dispose();
                count++;
            }
        }
        catch (FasterException)
        {
            // The framing itself is damaged here: what was counted so far is the lower bound.
        }
        return count;
    }

    /// <summary>
    /// Reads the committed records in [<paramref name="fromPosition"/>, <paramref name="toPosition"/>) of a log in use
    /// (appends may go on meanwhile) and hands each to <paramref name="apply"/>, in log order. Both positions are record
    /// boundaries of committed records, as the applier of a collection knows them; unlike <see cref="Replay"/> it records
    /// nothing, and a damaged record is an error.
    /// </summary>
    /// <exception cref="CollectionLogCorruptException">a record in the range fails its checks.</exception>
    public void ReadCommitted(long fromPosition, long toPosition, Action<LogRecord, long> apply)
    {
        ArgumentNullException.ThrowIfNull(apply);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _closing) != 0, this);
        EnsureRecordBoundary(fromPosition, nameof(fromPosition));
        EnsureRecordBoundary(toPosition, nameof(toPosition));
        if (fromPosition < BeginPosition || toPosition > CommittedPosition || fromPosition > toPosition)
            throw new ArgumentOutOfRangeException(nameof(fromPosition),
                $"[{fromPosition}, {toPosition}) is not a committed range of the log in {Directory} (it holds [{BeginPosition}, {CommittedPosition}))");
        long applied = 0, bytes = 0, expected = fromPosition;
        while (expected < toPosition)
        {
            if (_damaged.Containing(expected) is { } known)
            {
                expected = known.EndPosition;
                continue;
            }
            if (ScanRange(expected, toPosition, apply, ref applied, ref bytes, out expected) is { } damage)
                throw new CollectionLogCorruptException($"the log in {Directory} is damaged at position {damage.Position}: {damage.Reason}");
            if (expected < toPosition && _damaged.Containing(expected) is null)
                throw new CollectionLogCorruptException($"the log in {Directory} has no record at position {expected}, before {toPosition}");
        }
    }

    /// <summary>
    /// Applies records in [from, end) until the end or the first damaged record. Returns the
    /// damage (null if none); <paramref name="expected"/> ends as the position just past the last
    /// record applied.
    /// </summary>
    private LogDamage? ScanRange(long from, long end, Action<LogRecord, long> apply,
        ref long applied, ref long bytes, out long expected)
    {
        expected = from;
        using var iterator = _log.Scan(from, end);
        while (true)
        {
            IMemoryOwner<byte> owner;
            int length;
            long address, next;
            try
            {
                if (!iterator.GetNext(MemoryPool<byte>.Shared, out owner, out length, out address, out next))
                    return null;
            }
            catch (FasterException e)
            {
                // FASTER's own framing failed (length field beyond the page, uninitialized page).
                return new LogDamage(expected, end, $"log framing: {e.Message}");
            }

            using (owner)
            {
                if (!IsContiguous(expected, address, length))
                    return new LogDamage(expected, end,
                        $"gap in the log: the previous record ends at {expected} but the next one starts at {address} (zeroed or overwritten bytes)");
                LogRecord record;
                try
                {
                    record = LogRecordCodec.Decode(owner.Memory.Span[..length]);
                }
                catch (LogRecordFormatException e)
                {
                    return new LogDamage(address, end, e.Message);
                }
                apply(record, next);
                applied++;
                bytes += length;
                expected = next;
            }
        }
    }

    /// <summary>
    /// FASTER skips a zero length field by jumping to the next page, which is how it steps over
    /// the padding at the end of a page, but also how it would silently step over a record whose
    /// header was zeroed. A jump is genuine padding only if the record found at the next page
    /// start would not have fitted in the space left on the previous page.
    /// </summary>
    private bool IsContiguous(long expected, long address, int length)
    {
        if (address == expected)
            return true;
        long pageSize = 1L << _pageSizeBits;
        bool nextPageStart = (address & (pageSize - 1)) == 0 && (address >> _pageSizeBits) == (expected >> _pageSizeBits) + 1;
        return nextPageStart && address - expected < _log.HeaderSize + Align4(length);
    }
}
