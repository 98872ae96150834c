using AnnServer.Core.Filtering;
using AnnServer.Core.Payloads;

namespace AnnServer.Core.Tests.Filtering;

/// <summary>The filter language's meaning, evaluated the obvious way on a point's <see cref="Payload"/>: what the compiled
/// filter must agree with.</summary>
internal static class ReferenceFilter
{
    public static bool Passes(FilterClause clause, long id, Payload payload, int[] labels) => clause switch
    {
        Filter f => f.Must.All(c => Passes(c, id, payload, labels))
            && (f.Should.Count == 0 || f.Should.Any(c => Passes(c, id, payload, labels)))
            && !f.MustNot.Any(c => Passes(c, id, payload, labels)),
        KeywordMatch m => payload.TryGetValue(m.Field, out var v) && v.Kind switch
        {
            PayloadKind.Keyword => m.AnyOf.Contains(v.AsKeyword()),
            PayloadKind.KeywordList => v.AsKeywords().Any(m.AnyOf.Contains),
            _ => false,
        },
        IntegerMatch m => payload.TryGetValue(m.Field, out var v) && v.Kind switch
        {
            PayloadKind.Int64 => m.AnyOf.Contains(v.AsInt64()),
            PayloadKind.Int64List => v.AsInt64s().Any(m.AnyOf.Contains),
            _ => false,
        },
        NumericRange r => payload.TryGetValue(r.Field, out var v) && v.Kind switch
        {
            PayloadKind.Int64 => Within(r, v.AsInt64()),
            PayloadKind.Int64List => v.AsInt64s().Any(x => Within(r, x)),
            PayloadKind.Double => Within(r, v.AsDouble()),
            _ => false,
        },
        BoolMatch b => payload.TryGetValue(b.Field, out var v) && v.AsBool() == b.Value,
        IsNull n => !payload.TryGetValue(n.Field, out _),
        IsEmpty e => !payload.TryGetValue(e.Field, out var v) || v.Kind switch
        {
            PayloadKind.KeywordList => v.AsKeywords().Count == 0,
            PayloadKind.Int64List => v.AsInt64s().Count == 0,
            _ => false,
        },
        HasId h => h.Ids.Contains(id),
        LabelMatch l => labels.Any(l.AnyOf.Contains),
        _ => throw new InvalidOperationException(clause.GetType().Name),
    };

    // The test values are small integers and doubles: comparing as double is exact for them.
    private static bool Within(NumericRange r, double x) =>
        (r.Gt is not { } gt || x > gt) && (r.Gte is not { } gte || x >= gte) && (r.Lt is not { } lt || x < lt) && (r.Lte is not { } lte || x <= lte);
}
