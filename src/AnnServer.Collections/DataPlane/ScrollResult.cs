namespace AnnServer.Collections;

/// <summary>A page of a Scroll: its points ascending by id, and the cursor of the next page (pass it as the next
/// request's after-id), null when this page is the last.</summary>
public sealed record ScrollResult(IReadOnlyList<StoredPoint> Points, long? NextAfterId);
