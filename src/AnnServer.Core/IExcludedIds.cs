namespace AnnServer.Core;

/// <summary>
/// Ids a search leaves out, asked point by point: for a set too large or too short-lived to copy into a
/// <see cref="SearchFilter"/> per request (a recovering collection's ids whose last write is not in the index yet).
/// A search asks it for every point that would otherwise pass, so it must be cheap and safe to call from many threads.
/// </summary>
public interface IExcludedIds
{
    bool Contains(long id);
}
