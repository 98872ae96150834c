using AnnServer.Core;
using AnnServer.Core.Payloads;

namespace AnnServer.Collections;

/// <summary>
/// The kind of every payload field of a collection, as its index holds it or as a write already in the log fixed it:
/// what a new payload write is checked against before it is logged. A write is applied after its log commit, so the
/// index alone would let two concurrent writes give one new field two kinds, and the second would fail after it was
/// logged (and again at every replay). Reserving the kinds under the write lock, in log order, means a write that passed
/// here cannot fail when it is applied. Only the write pipeline's write lock touches it.
/// </summary>
internal sealed class PayloadFieldKinds
{
    private readonly Dictionary<string, PayloadKind> _kinds = new(StringComparer.Ordinal);
    private bool _loaded;

    /// <summary>
    /// Checks the payloads' fields against the kinds known (those of <paramref name="index"/> on first use, and of every
    /// write reserved since) and reserves the new ones, all or none.
    /// </summary>
    /// <param name="where">names payload i in a message, e.g. <c>i => $"points[{i}]"</c>.</param>
    /// <exception cref="ArgumentException">a field's value has another kind than the field (nothing reserved).</exception>
    /// <exception cref="LimitExceededException">the new fields would take the collection past
    /// <see cref="PayloadLimits.MaxFieldsPerIndex"/> (nothing reserved).</exception>
    public void Reserve(IReadOnlyList<Payload?> payloads, HnswIndex index, Func<int, string> where)
    {
        Load(index);
        Dictionary<string, PayloadKind>? added = null;
        for (int i = 0; i < payloads.Count; i++)
        {
            if (payloads[i] is not { } payload) continue;
            foreach (var (name, value) in payload)
            {
                if (_kinds.TryGetValue(name, out PayloadKind kind) || (added is not null && added.TryGetValue(name, out kind)))
                {
                    if (kind != value.Kind)
                        throw new ArgumentException(
                            $"{where(i)}: payload field '{name}' holds {kind} values in this collection; a {value.Kind} value cannot be written " +
                            "to it (a field's kind is fixed by its first value)");
                    continue;
                }
                added ??= new Dictionary<string, PayloadKind>(StringComparer.Ordinal);
                added[name] = value.Kind;
                if (_kinds.Count + added.Count > PayloadLimits.MaxFieldsPerIndex)
                    throw new LimitExceededException(
                        $"{where(i)}: payload field '{name}' would be field {_kinds.Count + added.Count} of the collection, more than the " +
                        $"limit of {PayloadLimits.MaxFieldsPerIndex} payload fields per collection");
            }
        }
        if (added is null) return;
        foreach (var (name, kind) in added) _kinds[name] = kind;
    }

    /// <summary>
    /// <paramref name="payload"/> without the fields it cannot give values to: a field that holds another kind than the
    /// value's, or a new field past <see cref="PayloadLimits.MaxFieldsPerIndex"/>; the new kinds of the fields kept are
    /// reserved. Each field left out is described in <paramref name="dropped"/>. Returns <paramref name="payload"/> itself
    /// when every field fits. This is for a cluster replica, which cannot refuse a record of its shard's stream (it was
    /// acknowledged to a client already): what it keeps depends only on the kinds before the record in log order, so
    /// every replica of the shard keeps the same.
    /// </summary>
    public Payload Conform(Payload payload, HnswIndex index, List<string> dropped)
    {
        Load(index);
        Payload? kept = null;
        for (int i = 0; i < payload.Count; i++)
        {
            var (name, value) = payload[i];
            string? why = null;
            if (_kinds.TryGetValue(name, out PayloadKind kind))
            {
                if (kind != value.Kind) why = $"field '{name}' holds {kind} values, this value is {value.Kind}";
            }
            else if (_kinds.Count >= PayloadLimits.MaxFieldsPerIndex)
                why = $"field '{name}' would be past the limit of {PayloadLimits.MaxFieldsPerIndex} payload fields per collection";
            else
                _kinds[name] = value.Kind;
            if (why is null)
            {
                kept?.Add(name, value);
                continue;
            }
            dropped.Add(why);
            if (kept is null)
            {
                kept = new Payload();
                for (int j = 0; j < i; j++) kept.Add(payload[j].Name, payload[j].Value);
            }
        }
        return kept ?? payload;
    }

    /// <summary>How many fields the collection would have with <paramref name="payload"/>'s: a bound on the fields any
    /// point can have after a merge of it.</summary>
    public int CountWith(Payload payload, HnswIndex index)
    {
        Load(index);
        int count = _kinds.Count;
        foreach (var (name, _) in payload)
            if (!_kinds.ContainsKey(name)) count++;
        return count;
    }

    private void Load(HnswIndex index)
    {
        if (_loaded) return;
        foreach (var (name, kind) in index.PayloadFields()) _kinds[name] = kind;
        _loaded = true;
    }
}
