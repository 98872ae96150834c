using AnnServer.Core.Payloads;

namespace AnnServer.Collections;

/// <summary>One stored point as Get and Scroll return it: its vector as stored (normalised for cosine; empty when the
/// read did not ask for it), its labels, and its payload as the read selected it (null: none selected or none held).</summary>
public sealed record StoredPoint(long Id, float[] Vector, int[] Labels, Payload? Payload = null);

/// <summary>A Get's answer: the points found, in the order of the ids asked, and the ids not held, in the same order.</summary>
public sealed record PointsResult(IReadOnlyList<StoredPoint> Points, IReadOnlyList<long> MissingIds);
