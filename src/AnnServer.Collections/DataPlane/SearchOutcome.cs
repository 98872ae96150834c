namespace AnnServer.Collections;

/// <summary>A search's answer: how many hits were written, and the shards left out of it (only with
/// <see cref="ReadOptions.AllowPartial"/>; empty otherwise).</summary>
public readonly record struct SearchOutcome(int Found, IReadOnlyList<int> MissingShards)
{
    public SearchOutcome(int found) : this(found, []) { }
}
