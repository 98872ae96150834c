namespace AnnServer.Collections;

/// <summary>A recommendation's answer: how many hits were written, the example ids the collection does not hold (positive
/// then negative, in the request's order; left out of the examples), and the shards left out (only with
/// <see cref="ReadOptions.AllowPartial"/>).</summary>
public readonly record struct RecommendOutcome(int Found, IReadOnlyList<long> MissingIds, IReadOnlyList<int> MissingShards);
