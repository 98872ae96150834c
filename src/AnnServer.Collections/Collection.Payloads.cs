using System.Buffers;
using AnnServer.Core;
using AnnServer.Core.Payloads;

namespace AnnServer.Collections;

// Reads that carry payloads or select on them: hit data, Get's payloads, Count and Scroll.
//
// While the log tail is replayed in the background (BackgroundReplay), the payloads of the points not replayed yet are
// not in the index, and the replaying tail keeps vectors only. Rather than answer wrong, a read that needs payloads
// (a payload filter, a selected payload when the collection has any payload data, a filtered Count, a Scroll) is
// refused with UNAVAILABLE until the replay has ended; searches and Gets without payloads are answered as before.
public sealed partial class Collection
{
    /// <summary>Writes each hit's selected payload fields and, when asked, its vector to <paramref name="sink"/>, hit i
    /// as <c>firstHit + i</c>.</summary>
    internal void ReadHitData(ReadOnlySpan<SearchHit> hits, int firstHit, SearchParameters parameters, IHitDataSink sink)
    {
        if (hits.IsEmpty) return;
        bool withPayload = !parameters.Payload.IsNone;
        if (withPayload) ThrowIfPayloadsReplaying("payloads on hits are");
        IReadOnlyList<string>? fields = parameters.Payload.IsAll ? null : parameters.Payload.Fields;
        float[]? vector = parameters.WithVector ? ArrayPool<float>.Shared.Rent(Dimension) : null;
        IndexGeneration generation = _index.Enter();
        try
        {
            var visitor = new HitFieldVisitor(sink);
            for (int i = 0; i < hits.Length; i++)
            {
                long id = hits[i].Id;
                if (vector is not null)
                {
                    Span<float> destination = vector.AsSpan(0, Dimension);
                    if (TryGet(id, destination, out _)) sink.Vector(firstHit + i, destination);
                }
                if (withPayload)
                {
                    visitor.Hit = firstHit + i;
                    generation.Index.VisitPayload(id, fields, ref visitor);
                }
            }
        }
        finally
        {
            generation.Exit();
            if (vector is not null) ArrayPool<float>.Shared.Return(vector);
        }
    }

    /// <summary>The selected payload of <paramref name="id"/>: null when none is selected, the id is unknown, or it has
    /// none of the selected fields.</summary>
    internal Payload? ReadPayload(long id, PayloadSelection selection)
    {
        if (selection.IsNone) return null;
        ThrowIfPayloadsReplaying("payload reads are");
        IndexGeneration generation = _index.Enter();
        try
        {
            return generation.Index.TryGetPayload(id, out Payload payload, selection.IsAll ? null : selection.Fields) && payload.Count > 0
                ? payload
                : null;
        }
        finally
        {
            generation.Exit();
        }
    }

    /// <summary>The exact number of live points passing <paramref name="filter"/> (null or empty: all).</summary>
    public long CountMatching(SearchFilter? filter)
    {
        if (filter is null || filter.IsEmpty) return Count;
        ThrowIfReplaying("filtered counts are");
        IndexGeneration generation = _index.Enter();
        try
        {
            return generation.Index.CountMatching(WithIdSets(filter));
        }
        finally
        {
            generation.Exit();
        }
    }

    /// <summary>One page of a Scroll (<see cref="ScrollParameters"/>). A page whose answer would weigh more than its
    /// bound ends early at the last point that fits (its cursor then points there); a first point that alone does not
    /// fit is refused (<see cref="GetAnswerTooLargeException"/>).</summary>
    public ScrollResult Scroll(ScrollParameters parameters, CancellationToken ct)
    {
        ThrowIfReplaying("scrolls are");
        ScrollPage page;
        IndexGeneration generation = _index.Enter();
        try
        {
            page = generation.Index.Scroll(WithIdSets(parameters.Filter), parameters.AfterId, parameters.Limit);
        }
        finally
        {
            generation.Exit();
        }
        var points = new List<StoredPoint>(page.Ids.Length);
        long answerBytes = 0;
        foreach (long id in page.Ids)
        {
            ct.ThrowIfCancellationRequested();
            // Deleted since the page was read: left out, as it would be from a page read a moment later.
            if (PointReads.ReadPoint(this, id, parameters.Payload, parameters.WithVector) is not { } point) continue;
            answerBytes += GetAnswerSize.Bytes(point);
            if (answerBytes > parameters.MaxAnswerBytes)
            {
                if (points.Count == 0) throw new GetAnswerTooLargeException(parameters.MaxAnswerBytes, 1, page.Ids.Length);
                return new ScrollResult(points, points[^1].Id);
            }
            points.Add(point);
        }
        return new ScrollResult(points, page.NextAfterId);
    }

    /// <summary>Refuses a read of payloads while the log tail replays, unless the collection holds no payload at all (in
    /// the index or in the tail): then every payload is empty, and known to be.</summary>
    private void ThrowIfPayloadsReplaying(string what)
    {
        if (_replay is not { } replay) return;
        if (!replay.Tail.HasPayloads && _index.Index.Payloads.Columns.Count == 0) return;
        throw ReplayingRefusal(replay, what);
    }

    private CollectionUnavailableException ReplayingRefusal(BackgroundReplay replay, string what) =>
        Volatile.Read(ref _replayFailure) is { } failure
            ? new($"collection '{Name}' could not replay its write-ahead log after the restart ({failure.Message}); {what} refused until " +
                  "the server restarts, because the payloads of the points not replayed are not known", failure)
            : new($"collection '{Name}' is replaying its write-ahead log after a restart ({replay.Tail.PendingRows(replay.Tail.AppliedRecords)} " +
                  $"points to go): {what} refused until it is ready, because the payloads of the points not replayed yet are not known; " +
                  "try again shortly");

    /// <summary>Sets or replaces the payload of the existing ids, after the write's log record is durable.</summary>
    public ValueTask<PayloadWriteResult> SetPayloadAsync(long[] ids, Payload payload, PayloadWriteMode mode, CancellationToken cancellationToken)
    {
        ThrowIfReplaying("writes are");
        return _writes.SetPayloadAsync(ids, payload, mode, cancellationToken);
    }

    /// <summary>Removes the named fields from the payloads of the existing ids, after the write's log record is durable.</summary>
    public ValueTask<PayloadWriteResult> DeletePayloadAsync(long[] ids, IReadOnlyList<string> fields, CancellationToken cancellationToken)
    {
        ThrowIfReplaying("writes are");
        return _writes.DeletePayloadAsync(ids, fields, cancellationToken);
    }
}
