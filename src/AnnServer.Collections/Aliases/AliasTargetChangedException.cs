namespace AnnServer.Collections;

/// <summary>
/// A compare-and-set switch of an alias found it pointing elsewhere than the caller expected: another switch came first.
/// The gRPC layer answers ABORTED, which gRPC defines for exactly this (a failed test-and-set: the client restarts its
/// read-modify-write), rather than FAILED_PRECONDITION (retrying is pointless until the system is fixed).
/// </summary>
public sealed class AliasTargetChangedException(string alias, string expected, string actual)
    : Exception($"alias '{alias}' points at collection '{actual}', not at the expected_collection '{expected}': another switch " +
                "came first; nothing was changed. Read the alias again (ListAliases) and decide again")
{
    public string Alias { get; } = alias;
    public string Expected { get; } = expected;
    public string Actual { get; } = actual;
}
