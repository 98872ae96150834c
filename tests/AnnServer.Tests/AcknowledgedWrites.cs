using AnnServer.Protocol.V1;
using Grpc.Core;

namespace AnnServer.Tests;

/// <summary>
/// What one client has been told: the state of every id it wrote (its vector, or null once deleted) after its
/// acknowledged writes, plus the one write it had sent when the server died, whose fate is unknown (it may or may not
/// have reached the log). A client sends one write at a time and owns its ids, so nothing else changes them.
/// </summary>
public sealed class AcknowledgedWrites(int client, int dimension, int seed)
{
    private readonly Random _random = new(seed);
    private readonly Dictionary<long, float[]?> _state = new();
    private readonly List<long> _live = [];

    /// <summary>Ids are client·1,000,000 + 0..2999: the client's own, reused so that upserts replace and deletes hit.</summary>
    public long FirstId { get; } = client * 1_000_000L;

    public int AcknowledgedCount { get; private set; }

    /// <summary>The write sent but not acknowledged when the server died (null: none).</summary>
    public Write? InFlight { get; private set; }

    public IEnumerable<long> TouchedIds => InFlight is null ? _state.Keys : _state.Keys.Union(InFlight.Ids);

    public int LiveCount => _live.Count;

    public sealed record Write(long[] Ids, float[][]? Vectors)
    {
        public bool IsUpsert => Vectors is not null;

        /// <summary>The state of <paramref name="id"/> after this write.</summary>
        public float[]? Effect(long id) => Vectors?[Array.IndexOf(Ids, id)];
    }

    /// <summary>
    /// Sends writes one at a time until <paramref name="stop"/> (but at least <paramref name="atLeast"/> of them, so that
    /// a loaded machine slow to start this task still writes) or until the server stops answering.
    /// </summary>
    public async Task RunAsync(VectorService.VectorServiceClient vectors, string collection, CancellationToken stop, int atLeast = 0)
    {
        for (int sent = 0; sent < atLeast || !stop.IsCancellationRequested; sent++)
        {
            Write write = NextWrite();
            InFlight = write;
            try
            {
                DateTime deadline = DateTime.UtcNow.AddSeconds(30);
                if (write.IsUpsert)
                {
                    var request = new UpsertRequest { Collection = collection };
                    for (int i = 0; i < write.Ids.Length; i++)
                        request.Points.Add(TestData.Point(write.Ids[i], write.Vectors![i]));
                    await vectors.UpsertAsync(request, deadline: deadline);
                }
                else
                {
                    await vectors.DeleteAsync(new DeleteRequest { Collection = collection, Ids = { write.Ids } }, deadline: deadline);
                }
            }
            catch (RpcException)
            {
                return; // the server died: the write stays in flight
            }
            Apply(write);
            InFlight = null;
            AcknowledgedCount++;
        }
    }

    /// <summary>
    /// Checks what a restarted server holds for this client's ids against what it was told, then adopts it: every id
    /// as acknowledged, except the ids of the write in flight, which show that write whole or not at all.
    /// Returns the problems found (empty: all good).
    /// </summary>
    public List<string> CheckAndAdopt(IReadOnlyDictionary<long, float[]> stored)
    {
        var problems = new List<string>();
        int applied = 0, notApplied = 0;
        foreach (long id in TouchedIds.ToList())
        {
            float[]? actual = stored.GetValueOrDefault(id);
            float[]? acknowledged = _state.GetValueOrDefault(id);
            bool matchesAcknowledged = Same(actual, acknowledged);
            if (InFlight is { } write && write.Ids.Contains(id))
            {
                bool matchesInFlight = Same(actual, write.Effect(id));
                if (!matchesAcknowledged && !matchesInFlight)
                    problems.Add($"client {client}: id {id} is {Describe(actual)}, neither as acknowledged ({Describe(acknowledged)}) nor as the write in flight");
                if (matchesInFlight && !matchesAcknowledged) applied++;
                if (matchesAcknowledged && !matchesInFlight) notApplied++;
            }
            else if (!matchesAcknowledged)
            {
                problems.Add($"client {client}: id {id} is {Describe(actual)} but the acknowledged state is {Describe(acknowledged)}");
            }
            SetState(id, actual);
        }
        if (applied > 0 && notApplied > 0)
            problems.Add($"client {client}: the write in flight was applied in part ({applied} ids yes, {notApplied} no)");
        InFlight = null;
        return problems;
    }

    private Write NextWrite()
    {
        if (_live.Count > 0 && _random.Next(100) < 25)
        {
            var ids = new HashSet<long>();
            int count = _random.Next(1, 5);
            for (int i = 0; i < count; i++) ids.Add(_live[_random.Next(_live.Count)]);
            if (_random.Next(4) == 0) ids.Add(FirstId + 5000 + _random.Next(100)); // never written: counted as not found
            return new Write([.. ids], null);
        }
        int points = _random.Next(8) == 0 ? _random.Next(100, 400) : _random.Next(1, 9);
        var upserted = new HashSet<long>();
        while (upserted.Count < points) upserted.Add(FirstId + _random.Next(3000));
        long[] upsertIds = [.. upserted];
        var vectors = new float[upsertIds.Length][];
        for (int i = 0; i < vectors.Length; i++)
        {
            vectors[i] = new float[dimension];
            for (int j = 0; j < dimension; j++) vectors[i][j] = (float)(_random.NextDouble() * 2 - 1);
        }
        return new Write(upsertIds, vectors);
    }

    private void Apply(Write write)
    {
        foreach (long id in write.Ids)
            SetState(id, write.Effect(id));
    }

    private void SetState(long id, float[]? vector)
    {
        bool wasLive = _state.GetValueOrDefault(id) is not null;
        _state[id] = vector;
        if (vector is not null && !wasLive) _live.Add(id);
        if (vector is null && wasLive) _live.Remove(id);
    }

    private static bool Same(float[]? a, float[]? b) => a is null ? b is null : b is not null && a.AsSpan().SequenceEqual(b);

    private static string Describe(float[]? vector) => vector is null ? "absent" : $"[{string.Join(", ", vector.Take(3))}, ...]";
}
