using AnnServer.Core.Payloads;
using AnnServer.Core.Storage;

namespace AnnServer.Core.Grouping;

/// <summary>
/// Deals a search's results, best first, into groups by their field's value, as the exact grouped answer would: the
/// first <see cref="GroupBy.Groups"/> distinct values met open the groups, each takes its first
/// <see cref="GroupBy.GroupSize"/> points, and everything else is passed over. Keys are the field's raw values (the
/// keyword's dictionary code, or the int64), read without the index's lock as the filter reads them.
/// </summary>
internal sealed class PointGroups(PayloadColumn column, GroupBy groupBy)
{
    private readonly Dictionary<long, int> _groupOfKey = new();
    private long[] _keys = [];
    private int[] _counts = [];
    private (float Distance, int Node)[] _members = [];
    private int _groups;

    /// <summary>Deals <paramref name="ordered"/> (best first) afresh; true when every group is full.</summary>
    public bool Fill(ReadOnlySpan<(float Distance, int Node)> ordered)
    {
        int groupSize = groupBy.GroupSize, maxGroups = groupBy.Groups;
        if (_keys.Length == 0)
        {
            _keys = new long[maxGroups];
            _counts = new int[maxGroups];
            _members = new (float, int)[groupBy.Hits];
        }
        _groupOfKey.Clear();
        Array.Clear(_counts);
        _groups = 0;
        int full = 0;
        foreach (var (distance, node) in ordered)
        {
            // The walk runs without the field's filter when every live point had it: one written since may not.
            if (!column.IsPresent(node)) continue;
            long key = KeyOf(node);
            if (!_groupOfKey.TryGetValue(key, out int group))
            {
                if (_groups == maxGroups) continue;
                group = _groups++;
                _keys[group] = key;
                _groupOfKey.Add(key, group);
            }
            if (_counts[group] == groupSize) continue;
            _members[group * groupSize + _counts[group]++] = (distance, node);
            if (_counts[group] == groupSize && ++full == maxGroups) return true;
        }
        return false;
    }

    private long KeyOf(int node) => column switch
    {
        KeywordColumn keyword => keyword.Codes[node],
        Int64Column int64 => int64.Values[node],
        _ => throw new InvalidOperationException($"column {column.Name} of kind {column.Kind} does not group"),
    };

    /// <summary>The groups in the order they opened, hits ordered by distance then id. Call under the index's map lock
    /// (a keyword's string is read from its dictionary).</summary>
    public IReadOnlyList<HitGroup> ToHitGroups(NativeChunkedArray<long> ids)
    {
        var groups = new HitGroup[_groups];
        for (int g = 0; g < _groups; g++)
        {
            var hits = new SearchHit[_counts[g]];
            for (int i = 0; i < hits.Length; i++)
            {
                var (distance, node) = _members[g * groupBy.GroupSize + i];
                hits[i] = new SearchHit(ids[node], distance);
            }
            Array.Sort(hits);
            PayloadValue key = column is KeywordColumn keyword
                ? PayloadValue.Keyword(keyword.Dictionary[(int)_keys[g]])
                : PayloadValue.Int64(_keys[g]);
            groups[g] = new HitGroup(key, hits);
        }
        return groups;
    }
}
