namespace AnnServer.Core.Filtering;

/// <summary>
/// Where a filter's <see cref="InIdSet"/> names are looked up: a collection's stored id sets. Asked once per name
/// per request, when the filter is compiled; safe to call from many threads.
/// </summary>
public interface IIdSetSource
{
    /// <summary>The set called <paramref name="name"/>, or null when there is none (never put, deleted, expired).</summary>
    IdSet? Find(string name);
}
