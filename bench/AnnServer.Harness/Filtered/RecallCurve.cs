namespace AnnServer.Harness.Filtered;

/// <summary>
/// QPS at a given recall on a sweep of (recall, QPS) points: log QPS interpolated linearly in recall between the two
/// points around it, as a reader of the recall–QPS plot would read it off.
/// </summary>
public static class RecallCurve
{
    /// <summary>
    /// The QPS of the fastest way to reach <paramref name="recall"/>: over the points reaching it, the fastest, or between
    /// the first point reaching it and the faster one below it, interpolated. Null when no point reaches it.
    /// </summary>
    public static double? QpsAt(IReadOnlyList<FilteredPoint> sweep, double recall)
    {
        double? best = null;
        for (int i = 0; i < sweep.Count; i++)
        {
            FilteredPoint point = sweep[i];
            if (point.Recall < recall) continue;
            double qps = point.Qps;
            // The interpolation between this point and any slower-recall, faster point: the recall target lies between.
            for (int j = 0; j < sweep.Count; j++)
            {
                FilteredPoint below = sweep[j];
                if (below.Recall >= recall || below.Qps <= point.Qps) continue;
                double t = (recall - below.Recall) / (point.Recall - below.Recall);
                qps = Math.Max(qps, Math.Exp(Math.Log(below.Qps) + t * (Math.Log(point.Qps) - Math.Log(below.Qps))));
            }
            best = best is null ? qps : Math.Max(best.Value, qps);
        }
        return best;
    }

    /// <summary>
    /// <see cref="QpsAt"/>, or for a recall above every point's the QPS of the point with the highest recall (the
    /// unfiltered search would be slower still there, so a ratio against it understates the filtered search).
    /// </summary>
    public static double? QpsAtOrBest(IReadOnlyList<FilteredPoint> sweep, double recall)
    {
        if (QpsAt(sweep, recall) is double qps) return qps;
        FilteredPoint? top = null;
        foreach (var point in sweep)
            if (top is null || point.Recall > top.Recall) top = point;
        return top?.Qps;
    }
}
