using AnnServer.Core.Payloads;

namespace AnnServer.Core;

public sealed partial class HnswIndex
{
    /// <summary>
    /// A point's payload: every field it has, or only those of <paramref name="fields"/> it has (in that order). False
    /// when the id is unknown.
    /// </summary>
    public bool TryGetPayload(long id, out Payload payload, IReadOnlyCollection<string>? fields = null)
    {
        lock (_mapLock)
        {
            if (!_nodeById.TryGetValue(id, out int node))
            {
                payload = new Payload();
                return false;
            }
            payload = _payloads.Read(node, fields);
            return true;
        }
    }
}
