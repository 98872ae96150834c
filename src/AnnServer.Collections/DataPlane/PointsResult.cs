namespace AnnServer.Collections;

/// <summary>One stored point as Get returns it: its vector as stored (normalised for cosine) and its labels.</summary>
public sealed record StoredPoint(long Id, float[] Vector, int[] Labels);

/// <summary>A Get's answer: the points found, in the order of the ids asked, and the ids not held, in the same order.</summary>
public sealed record PointsResult(IReadOnlyList<StoredPoint> Points, IReadOnlyList<long> MissingIds);
