namespace AnnServer.Core;

/// <summary>One search result: the caller's id of a point and its distance to the query.</summary>
public readonly record struct SearchHit(long Id, float Distance) : IComparable<SearchHit>
{
    /// <summary>Orders by distance, then by id, so that equal distances come back in a stable order. A NaN distance
    /// (which no kernel returns, see OverflowTests) orders after every number, where float's own order puts it first.</summary>
    public int CompareTo(SearchHit other)
    {
        bool nan = float.IsNaN(Distance), otherNan = float.IsNaN(other.Distance);
        int byDistance = nan || otherNan ? nan.CompareTo(otherNan) : Distance.CompareTo(other.Distance);
        return byDistance != 0 ? byDistance : Id.CompareTo(other.Id);
    }
}
