namespace AnnServer.Core;

/// <summary>
/// One page of <see cref="HnswIndex.Scroll"/>: live ids passing the filter, ascending. <see cref="NextAfterId"/> is the
/// cursor of the next page (pass it as afterId), null when this page is the last.
/// </summary>
public sealed record ScrollPage(long[] Ids, long? NextAfterId);
