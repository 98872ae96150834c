namespace AnnServer.Collections;

/// <summary>How a payload write changes a point's payload.</summary>
public enum PayloadWriteMode
{
    /// <summary>The given fields are set, the point's other fields kept.</summary>
    Merge,

    /// <summary>The payload becomes exactly the given fields (none: cleared).</summary>
    Replace,
}
