namespace AnnServer.Core.Hnsw;

/// <summary>Reuses search contexts across calls; holds at most as many as ran at once, bounded by <see cref="MaxPooled"/>.</summary>
internal sealed class SearchContextPool(int dimension) : IDisposable
{
    private const int MaxPooled = 256;
    private readonly Stack<SearchContext> _free = new();

    public SearchContext Rent()
    {
        lock (_free)
        {
            if (_free.Count > 0) return _free.Pop();
        }
        return new SearchContext(dimension);
    }

    public void Return(SearchContext context)
    {
        lock (_free)
        {
            if (_free.Count < MaxPooled)
            {
                _free.Push(context);
                return;
            }
        }
        context.Dispose();
    }

    public void Dispose()
    {
        lock (_free)
        {
            while (_free.Count > 0) _free.Pop().Dispose();
        }
    }
}
