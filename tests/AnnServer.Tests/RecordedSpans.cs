using System.Collections;
using System.Diagnostics;

namespace AnnServer.Tests;

/// <summary>The spans an in-memory exporter received, safe to read while the server goes on exporting: spans end on
/// the server's threads, some after the client already has its answer (a request's span ends once the response is sent).</summary>
public sealed class RecordedSpans : ICollection<Activity>
{
    private readonly List<Activity> _spans = [];

    /// <summary>The spans recorded so far.</summary>
    public Activity[] Snapshot()
    {
        lock (_spans) return [.. _spans];
    }

    /// <summary>Waits (up to 10 s) until a recorded span matches, and returns it.</summary>
    public async Task<Activity> WaitForAsync(Func<Activity, bool> match, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            Activity? found = Snapshot().FirstOrDefault(match);
            if (found is not null) return found;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"no span {what} within 10 s; recorded: "
                    + string.Join(", ", Snapshot().Select(s => $"{s.Source.Name}/{s.DisplayName}")));
            await Task.Delay(20);
        }
    }

    public void Add(Activity item)
    {
        lock (_spans) _spans.Add(item);
    }

    public void Clear()
    {
        lock (_spans) _spans.Clear();
    }

    public bool Contains(Activity item)
    {
        lock (_spans) return _spans.Contains(item);
    }

    public void CopyTo(Activity[] array, int arrayIndex)
    {
        lock (_spans) _spans.CopyTo(array, arrayIndex);
    }

    public bool Remove(Activity item)
    {
        lock (_spans) return _spans.Remove(item);
    }

    public int Count
    {
        get { lock (_spans) return _spans.Count; }
    }

    public bool IsReadOnly => false;

    public IEnumerator<Activity> GetEnumerator() => ((IEnumerable<Activity>)Snapshot()).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
