namespace AnnServer.Core.Grouping;

/// <summary>
/// Results grouped by a payload field (a keyword or an int64 field): up to <see cref="Groups"/> groups, each of up to
/// <see cref="GroupSize"/> hits, the groups in the order of their best hit. Points without the field are left out.
/// </summary>
public sealed record GroupBy(string Field, int GroupSize, int Groups)
{
    /// <summary>Largest <see cref="Groups"/> × <see cref="GroupSize"/>: the hits a grouped answer may hold.</summary>
    public const int MaxHits = 10_000;

    /// <summary>How much farther than the request's ef (or than <see cref="Groups"/> × <see cref="GroupSize"/>, when
    /// larger) the walk may grow while groups are still short: a bound on the cost of a field whose values are rare among
    /// the nearest points.</summary>
    public const int MaxWalkGrowth = 16;

    /// <summary>The hits a full answer holds.</summary>
    public int Hits => Groups * GroupSize;
}
