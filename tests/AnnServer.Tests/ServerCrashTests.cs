using System.Diagnostics;
using System.Globalization;
using AnnServer.Protocol.V1;
using Xunit.Abstractions;

namespace AnnServer.Tests;

/// <summary>
/// The issue's crash test: the real server as a child process, writes from several concurrent clients (and
/// checkpoints, manual and automatic), SIGKILL at a random moment, restart on the same data directory, and every
/// acknowledged write must be there: upserts with their exact vector, deletes still deleted, no other point.
/// <para>
/// Five kill points by default. The long run for the benchmark suite:
/// <c>ANNSERVER_CRASH_ITERATIONS=100 dotnet test tests/AnnServer.Tests --filter FullyQualifiedName~ServerCrashTests</c>
/// (ANNSERVER_CRASH_SEED=n replays one sequence of kill points and writes).
/// </para>
/// </summary>
public sealed class ServerCrashTests(ITestOutputHelper output)
{
    private const int Dimension = 16;
    private const int Clients = 4;
    private const string Collection = "crash";

    [Fact]
    public async Task EveryAcknowledgedWriteSurvivesSigkillAtRandomMoments()
    {
        int iterations = EnvironmentInt("ANNSERVER_CRASH_ITERATIONS") ?? 5;
        int seed = EnvironmentInt("ANNSERVER_CRASH_SEED") ?? Random.Shared.Next();
        output.WriteLine($"{iterations} kill points, ANNSERVER_CRASH_SEED={seed}");
        var random = new Random(seed);
        using var dataDir = new TempFolder();
        var clients = Enumerable.Range(0, Clients).Select(c => new AcknowledgedWrites(c, Dimension, seed + 1 + c)).ToArray();
        long checkpoints = 0;

        for (int iteration = 0; iteration <= iterations; iteration++)
        {
            // A low record threshold, so that automatic checkpoints (snapshot + truncation) happen between the kills too.
            // The check reads every id the clients touched in one Get: past about 20 kill points they are more than the
            // default --max-get-ids (10,000).
            await using ChildServer server = await ChildServer.StartAsync(dataDir.Path, "--checkpoint-records", "200", "--max-get-ids", "1000000");
            if (iteration == 0)
                await server.Collections.CreateCollectionAsync(new CreateCollectionRequest { Name = Collection, Dimension = Dimension, Metric = Metric.L2, M = 8, EfConstruction = 32 });
            else
                await CheckAsync(server, clients, $"after kill {iteration} (seed {seed})");
            if (iteration == iterations) break;

            using var stop = new CancellationTokenSource();
            Task[] writers = clients.Select(c => Task.Run(() => c.RunAsync(server.Vectors, Collection, stop.Token))).ToArray();
            Task checkpointer = Task.Run(async () =>
            {
                var checkpointRandom = new Random(random.Next());
                while (!stop.IsCancellationRequested)
                {
                    await Task.Delay(checkpointRandom.Next(100, 400));
                    try
                    {
                        await server.Collections.CheckpointAsync(new CheckpointRequest { Name = Collection }, deadline: DateTime.UtcNow.AddSeconds(30));
                        Interlocked.Increment(ref checkpoints);
                    }
                    catch (Grpc.Core.RpcException)
                    {
                        return;
                    }
                }
            });

            // Kill among writes: first wait for a few acknowledged ones (on a loaded machine the first can take seconds
            // after a restart), then a random moment later. A fixed delay alone let some runs kill before any write.
            long acknowledgedBefore = clients.Sum(c => c.AcknowledgedCount);
            var firstWrites = Stopwatch.StartNew();
            while (clients.Sum(c => c.AcknowledgedCount) < acknowledgedBefore + 10 && firstWrites.Elapsed < TimeSpan.FromSeconds(30))
                await Task.Delay(20);
            await Task.Delay(random.Next(0, 1300));
            await server.KillAsync();
            await stop.CancelAsync();
            await Task.WhenAll([.. writers, checkpointer]);
        }

        output.WriteLine($"acknowledged writes per client: {string.Join(", ", clients.Select(c => c.AcknowledgedCount))}; manual checkpoints {checkpoints}");
        Assert.True(clients.Sum(c => c.AcknowledgedCount) >= iterations * 10, "the clients should have written something between the kills");
    }

    private static async Task CheckAsync(ChildServer server, AcknowledgedWrites[] clients, string when)
    {
        var request = new GetRequest { Collection = Collection };
        request.Ids.Add(clients.SelectMany(c => c.TouchedIds));
        GetResponse got = await server.Vectors.GetAsync(request);
        Dictionary<long, float[]> stored = got.Points.ToDictionary(p => p.Id, p => p.Vector.ToArray());
        CollectionInfo info = await server.Collections.GetCollectionInfoAsync(new GetCollectionInfoRequest { Name = Collection });

        List<string> problems = clients.SelectMany(c => c.CheckAndAdopt(stored)).ToList();
        Assert.True(problems.Count == 0, $"{when}:\n{string.Join('\n', problems.Take(20))}\nserver log:\n{server.Output}");
        Assert.Equal((ulong)clients.Sum(c => c.LiveCount), info.Count); // no point that no client wrote
    }

    private static int? EnvironmentInt(string name) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) ? value : null;
}
