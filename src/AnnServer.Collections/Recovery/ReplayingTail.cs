using AnnServer.Core;
using AnnServer.Storage;

namespace AnnServer.Collections;

/// <summary>
/// The log tail of a collection that serves while the tail is replayed into its graph (<see cref="BackgroundReplay"/>):
/// the last state the tail gives each id it touches, searched exactly, and how far the replay has come.
/// <para>
/// How no acknowledged write is missed: every write in the tail was acknowledged before the crash, and its final effect
/// on its id is known from the tail alone, before anything is inserted. A search reads the replay's progress once
/// (<see cref="AppliedRecords"/>, a count of tail records whose effects are all in the graph) and from it splits the ids
/// in two: an id whose last record is applied is answered by the graph, as after a full replay; an id whose last record
/// is not (pending) is left out of the graph's answer (<see cref="PendingIds"/>: the graph may still hold its snapshot
/// vector, or an earlier vector of the tail, or a delete not yet applied) and answered by an exact scan of its final
/// vector (<see cref="ExactPointSet"/>, rows in the order of their last record, so the pending rows are a suffix). Each
/// id is answered by exactly one of the two, with the vector it has after the whole log. Gets and counts are answered
/// from the final states directly. Writes made after the start are logged and wait for the replay to finish before they
/// are applied and acknowledged (the write pipeline's applies are held), so they are never in the graph before the tail.
/// </para>
/// Immutable but for <see cref="AppliedRecords"/>, written by the replay alone.
/// </summary>
internal sealed class ReplayingTail
{
    private readonly Dictionary<long, int> _lastRecordById;
    private readonly Dictionary<long, int> _rowById;
    private readonly int[] _lastRecordOfRow;
    private readonly ExactPointSet _finalPoints;
    private int _appliedRecords;

    /// <summary>Whether any record of the tail carries payloads (an upsert's or a payload change): the payload reads of a
    /// collection that has none anywhere can be answered (every payload is empty) while the tail replays.</summary>
    public bool HasPayloads { get; }

    /// <param name="snapshot">the index loaded from the snapshot, before any record is applied to it.</param>
    public ReplayingTail(IReadOnlyList<LogRecord> records, HnswIndex snapshot)
    {
        _lastRecordById = [];
        var lastUpsert = new Dictionary<long, (int Record, int Point)>();
        for (int r = 0; r < records.Count; r++)
        {
            LogRecord record = records[r];
            // A payload change leaves every id's vector as it was: it decides nothing here. (Until it is applied, a search
            // that filters on payload fields sees the payloads as they were before it.)
            if (record.Operation == LogOperation.SetPayload) continue;
            for (int i = 0; i < record.Count; i++)
            {
                long id = record.Ids[i];
                _lastRecordById[id] = r;
                if (record.Operation == LogOperation.Upsert) lastUpsert[id] = (r, i);
                else lastUpsert.Remove(id);
            }
        }
        TotalRecords = records.Count;
        foreach (LogRecord record in records)
            HasPayloads |= record.Payloads is not null;

        // Rows in the order of their last record: the rows still pending at any moment are the ones from some row on.
        var finals = new (long Id, int Record, int Point)[lastUpsert.Count];
        int n = 0;
        foreach ((long id, (int record, int point)) in lastUpsert) finals[n++] = (id, record, point);
        Array.Sort(finals, static (a, b) => a.Record.CompareTo(b.Record));

        int dimension = snapshot.Dimension;
        var ids = new long[finals.Length];
        var vectors = new float[(long)finals.Length * dimension];
        var labels = new int[]?[finals.Length];
        _lastRecordOfRow = new int[finals.Length];
        _rowById = new Dictionary<long, int>(finals.Length);
        for (int row = 0; row < finals.Length; row++)
        {
            (long id, int recordIndex, int point) = finals[row];
            LogRecord record = records[recordIndex];
            ids[row] = id;
            record.Vectors.AsSpan(point * dimension, dimension).CopyTo(vectors.AsSpan(row * dimension, dimension));
            labels[row] = record.Labels?[point] is { Length: > 0 } l ? l : null;
            _lastRecordOfRow[row] = recordIndex;
            _rowById[id] = row;
        }
        _finalPoints = new ExactPointSet(snapshot.Metric, dimension, ids, vectors, labels);

        long liveBefore = 0;
        foreach (long id in _lastRecordById.Keys)
            if (snapshot.Contains(id)) liveBefore++;
        FinalCount = snapshot.Count - liveBefore + finals.Length;
        PendingPoints = finals.Length;
    }

    public int TotalRecords { get; }

    /// <summary>Live points once the whole tail is applied: what the collection counts while it replays.</summary>
    public long FinalCount { get; }

    /// <summary>Points the tail leaves live (its upserts, less the ones replaced or deleted later in it).</summary>
    public int PendingPoints { get; }

    /// <summary>Tail records whose effects are all in the graph, in log order.</summary>
    public int AppliedRecords => Volatile.Read(ref _appliedRecords);

    /// <summary>The replay's report: the first <paramref name="records"/> tail records are applied, their nodes live.</summary>
    public void MarkApplied(int records) => Volatile.Write(ref _appliedRecords, records);

    /// <summary>Final-state rows not in the graph yet, when <paramref name="applied"/> records are.</summary>
    public int PendingRows(int applied) => _finalPoints.Count - FirstPendingRow(applied);

    /// <summary>
    /// Top-k of one query: the graph's answer without the pending ids, merged with the exact answer over their final
    /// vectors. Both halves are read at one replay progress, so each id is answered once, by its final state. The graph's
    /// half re-ranks as <paramref name="quantized"/> says; the tail's is exact (float32) whatever it says.
    /// </summary>
    public int Search(HnswIndex index, ReadOnlySpan<float> query, int k, int ef, Span<SearchHit> results, SearchFilter? filter,
        QuantizedSearchOptions quantized)
    {
        int applied = AppliedRecords;
        var graphHits = new SearchHit[k];
        int fromGraph = index.SearchUnchecked(query, k, ef, graphHits, SearchFilter.AlsoExcluding(filter, new PendingIds(this, applied)), quantized);
        var tailHits = new SearchHit[k];
        int fromTail = _finalPoints.Search(query, k, filter, FirstPendingRow(applied), tailHits);
        return Merge(graphHits.AsSpan(0, fromGraph), tailHits.AsSpan(0, fromTail), k, results);
    }

    /// <summary>The final state of an id the tail touches: true with its vector and labels, false when the tail deletes
    /// it; null when the tail does not touch it (the index answers).</summary>
    public bool? TryGet(long id, Span<float> vector, out int[] labels)
    {
        labels = [];
        if (!_lastRecordById.ContainsKey(id)) return null;
        if (!_rowById.TryGetValue(id, out int row)) return false;
        _finalPoints.Vector(row).CopyTo(vector);
        labels = _finalPoints.Labels(row) ?? [];
        return true;
    }

    private int FirstPendingRow(int applied)
    {
        // The first row whose last record is not applied yet (rows are sorted by it).
        int low = 0, high = _lastRecordOfRow.Length;
        while (low < high)
        {
            int middle = (low + high) >>> 1;
            if (_lastRecordOfRow[middle] < applied) low = middle + 1;
            else high = middle;
        }
        return low;
    }

    private static int Merge(ReadOnlySpan<SearchHit> a, ReadOnlySpan<SearchHit> b, int k, Span<SearchHit> results)
    {
        int i = 0, j = 0, n = 0;
        while (n < k && (i < a.Length || j < b.Length))
        {
            if (j >= b.Length || (i < a.Length && a[i].CompareTo(b[j]) <= 0)) results[n++] = a[i++];
            else results[n++] = b[j++];
        }
        return n;
    }

    /// <summary>The ids whose last tail record is not applied at one replay progress: the graph's answer leaves them out.</summary>
    private sealed class PendingIds(ReplayingTail tail, int applied) : IExcludedIds
    {
        public bool Contains(long id) => tail._lastRecordById.TryGetValue(id, out int last) && last >= applied;
    }
}
