using AnnServer.Core.Payloads;

namespace AnnServer.Core.Grouping;

/// <summary>One group of a grouped search: the field's value its points share, and its hits, closest first.</summary>
public sealed record HitGroup(PayloadValue Key, SearchHit[] Hits);
