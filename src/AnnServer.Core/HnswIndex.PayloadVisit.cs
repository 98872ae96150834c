using AnnServer.Core.Payloads;

namespace AnnServer.Core;

public sealed partial class HnswIndex
{
    /// <summary>
    /// Hands the payload fields of <paramref name="id"/> to <paramref name="visitor"/>: every field it has, in the order
    /// fields first appeared in the index, or only those of <paramref name="fields"/> it has, in that order. False (and no
    /// call) when the id is unknown. Allocates nothing for scalar and keyword values (a keyword is the column's
    /// dictionary string); list values are read as the column returns them.
    /// </summary>
    /// <remarks>Holds the map lock while it reads, as <see cref="TryGetPayload"/> does, so a concurrent payload write is
    /// seen whole or not at all.</remarks>
    public bool VisitPayload<TVisitor>(long id, IReadOnlyList<string>? fields, ref TVisitor visitor)
        where TVisitor : struct, IPayloadFieldVisitor
    {
        lock (_mapLock)
        {
            if (!_nodeById.TryGetValue(id, out int node)) return false;
            if (fields is null)
            {
                IReadOnlyList<PayloadColumn> columns = _payloads.Columns;
                for (int c = 0; c < columns.Count; c++)
                    if (columns[c].IsPresent(node)) visitor.Field(columns[c].Name, columns[c].Read(node));
                return true;
            }
            for (int f = 0; f < fields.Count; f++)
                if (_payloads.Column(fields[f]) is { } column && column.IsPresent(node)) visitor.Field(column.Name, column.Read(node));
            return true;
        }
    }

    /// <summary>Each payload field of the index with its kind, in the order fields first appeared.</summary>
    public IReadOnlyList<(string Name, PayloadKind Kind)> PayloadFields()
    {
        lock (_mapLock)
        {
            var fields = new (string, PayloadKind)[_payloads.Columns.Count];
            for (int c = 0; c < fields.Length; c++) fields[c] = (_payloads.Columns[c].Name, _payloads.Columns[c].Kind);
            return fields;
        }
    }
}
