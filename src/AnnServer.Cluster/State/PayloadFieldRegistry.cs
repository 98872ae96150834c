using System.Collections.Concurrent;
using AnnServer.Collections;
using AnnServer.Core.Payloads;

namespace AnnServer.Cluster.State;

/// <summary>
/// Reserves payload field kinds of cluster collections in the cluster state (<see cref="ClusterPayloadFields"/>) before a
/// write that introduces a field is published: a compare-and-set on the entry's revision, retried on conflict, so two
/// nodes writing one new field with two kinds at once cannot both win. A write whose value kind conflicts with its
/// field's is refused (<see cref="ArgumentException"/> naming the field and both kinds) with nothing published. Kinds
/// never change once reserved, so each node keeps those it has seen and asks NATS only for fields it has not.
/// </summary>
public sealed class PayloadFieldRegistry(Func<ClusterStateStore?> store)
{
    private const int MaxAttempts = 20;

    private readonly ConcurrentDictionary<(string Collection, long CreatedUnixMs), ConcurrentDictionary<string, PayloadKind>> _known = new();

    /// <summary>Checks the fields of <paramref name="payloads"/> against the collection's kinds and reserves the new ones,
    /// all or none.</summary>
    /// <param name="where">names payload i in a message, e.g. <c>i => $"points[{i}]"</c>.</param>
    /// <exception cref="ArgumentException">a value's kind conflicts with its field's, or with another value of the
    /// request for a new field.</exception>
    /// <exception cref="LimitExceededException">the collection would have more than
    /// <see cref="PayloadLimits.MaxFieldsPerIndex"/> fields.</exception>
    public async Task ReserveAsync(ClusterCollectionSpec spec, IReadOnlyList<Payload?> payloads, Func<int, string> where, CancellationToken ct)
    {
        ConcurrentDictionary<string, PayloadKind> known = _known.GetOrAdd((spec.Name, spec.CreatedUnixMs), _ => new(StringComparer.Ordinal));
        var wanted = new Dictionary<string, (PayloadKind Kind, int Payload)>(StringComparer.Ordinal);
        for (int i = 0; i < payloads.Count; i++)
        {
            if (payloads[i] is not { } payload) continue;
            foreach (var (name, value) in payload)
            {
                if (known.TryGetValue(name, out PayloadKind kind))
                {
                    if (kind != value.Kind) throw Conflict(spec, where(i), name, kind, value.Kind);
                    continue;
                }
                if (wanted.TryGetValue(name, out var first))
                {
                    if (first.Kind != value.Kind)
                        throw new ArgumentException(
                            $"{where(i)}: payload field '{name}' is new in collection '{spec.Name}' and this request gives it {first.Kind} values " +
                            $"({where(first.Payload)}) and a {value.Kind} value: a field holds one kind");
                    continue;
                }
                wanted[name] = (value.Kind, i);
            }
        }
        if (wanted.Count > 0)
            await ReserveNewAsync(spec, wanted, known, where, ct).ConfigureAwait(false);
    }

    private async Task ReserveNewAsync(ClusterCollectionSpec spec, Dictionary<string, (PayloadKind Kind, int Payload)> wanted,
        ConcurrentDictionary<string, PayloadKind> known, Func<int, string> where, CancellationToken ct)
    {
        ClusterStateStore state = store() ?? throw new CollectionUnavailableException("the cluster state is not open yet: try again shortly");
        for (int attempt = 1; ; attempt++)
        {
            (ClusterPayloadFields? stored, ulong revision) = await state.GetPayloadFieldsAsync(spec.Name, ct).ConfigureAwait(false);
            if (stored is not null && stored.CollectionCreatedUnixMs > spec.CreatedUnixMs)
                throw new CollectionUnavailableException(
                    $"collection '{spec.Name}' was dropped and created again, and this node has not seen the new one yet: retry the write");
            Dictionary<string, PayloadKind> fields = stored is not null && stored.CollectionCreatedUnixMs == spec.CreatedUnixMs
                ? new(stored.Fields, StringComparer.Ordinal)
                : new(StringComparer.Ordinal);
            foreach (var (name, kind) in fields) known.TryAdd(name, kind);
            int added = 0;
            foreach (var (name, (kind, payload)) in wanted)
            {
                if (fields.TryGetValue(name, out PayloadKind reserved))
                {
                    if (reserved != kind) throw Conflict(spec, where(payload), name, reserved, kind);
                    continue;
                }
                fields[name] = kind;
                added++;
                if (fields.Count > PayloadLimits.MaxFieldsPerIndex)
                    throw new LimitExceededException(
                        $"{where(payload)}: payload field '{name}' would be field {fields.Count} of collection '{spec.Name}', more than the " +
                        $"limit of {PayloadLimits.MaxFieldsPerIndex} payload fields per collection");
            }
            if (added == 0) return;
            if (await state.TryWritePayloadFieldsAsync(spec.Name, new ClusterPayloadFields(spec.CreatedUnixMs, fields), revision, ct)
                    .ConfigureAwait(false))
            {
                foreach (var (name, kind) in fields) known.TryAdd(name, kind);
                return;
            }
            if (attempt >= MaxAttempts)
                throw new CollectionUnavailableException(
                    $"the payload field kinds of collection '{spec.Name}' kept changing: not reserved after {attempt} attempts; retry the write");
            // Another node reserved fields between our read and our write: read theirs and check ours again.
            await Task.Delay(Random.Shared.Next(5, 50), ct).ConfigureAwait(false);
        }
    }

    private static ArgumentException Conflict(ClusterCollectionSpec spec, string where, string name, PayloadKind held, PayloadKind given) => new(
        $"{where}: payload field '{name}' holds {held} values in collection '{spec.Name}'; a {given} value cannot be written to it " +
        "(a field's kind is fixed by its first value)");
}
