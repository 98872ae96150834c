using AnnServer.Harness.Results;

namespace AnnServer.Harness.Reporting;

/// <summary>
/// Combines the rounds of a paired run: the same system, with the same parameters, measured by several processes in
/// turn (bench/run-fashion-mnist.sh). On a shared VM one process's single-thread QPS moves by ±25 % against another's
/// minutes later, so one run per system cannot show a 1.2× ratio; the fastest of several rounds can, as the fastest of
/// several passes within one process already does (RecallRunner).
/// </summary>
public static class FastestOfRounds
{
    /// <summary>
    /// Rows with the same label (system and parameters, as the tables show it) become one row, where the label first
    /// appears: at each ef the point of the highest QPS; build time, memory and parameters from the round that built
    /// the index (the others loaded it); <see cref="ResultRow.Rounds"/> the number of rounds combined. Rows of
    /// `ann-bench load` are left as they are: runs at different concurrency or rate share a label but are not rounds.
    /// </summary>
    /// <param name="note">Told when a group holds more than one build, of which only the first is kept.</param>
    public static List<ResultRow> Combine(IReadOnlyList<ResultRow> rows, Action<string>? note = null)
    {
        var groups = new List<List<ResultRow>>();
        var groupByLabel = new Dictionary<string, List<ResultRow>>();
        foreach (var row in rows)
        {
            if (row.Load is not null)
            {
                groups.Add([row]);
                continue;
            }
            string label = RecallPlot.Label(row);
            if (!groupByLabel.TryGetValue(label, out var group))
            {
                group = [];
                groupByLabel[label] = group;
                groups.Add(group);
            }
            group.Add(row);
        }

        var combined = new List<ResultRow>(groups.Count);
        foreach (var group in groups)
        {
            if (group[0].Load is not null)
            {
                combined.Add(group[0]);
                continue;
            }
            int builds = group.Count(r => r.BuildSeconds is not null);
            if (builds > 1)
                note?.Invoke($"{RecallPlot.Label(group[0])}: {builds} of its {group.Count} rounds built the index; the first build's time and memory are kept");
            combined.Add(Combine(group));
        }
        return combined;
    }

    private static ResultRow Combine(List<ResultRow> rounds)
    {
        var built = rounds.FirstOrDefault(r => r.BuildSeconds is not null) ?? rounds[0];
        var fastestByEf = new SortedDictionary<int, ResultPoint>();
        foreach (var round in rounds)
            foreach (var point in round.Points)
                if (!fastestByEf.TryGetValue(point.Ef, out var fastest) || point.Qps > fastest.Qps)
                    fastestByEf[point.Ef] = point;
        return new ResultRow
        {
            System = built.System,
            Params = built.Params.DeepClone().AsObject(),
            BuildSeconds = built.BuildSeconds,
            MemoryBytes = built.MemoryBytes,
            ResidentBytes = built.ResidentBytes,
            PeakResidentBytes = built.PeakResidentBytes,
            Rounds = rounds.Sum(r => r.Rounds ?? 1),
            Points = [.. fastestByEf.Values],
            Extra = built.Extra,
        };
    }
}
