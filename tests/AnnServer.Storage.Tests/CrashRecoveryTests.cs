using System.Diagnostics;
using System.Globalization;

namespace AnnServer.Storage.Tests;

/// <summary>
/// A real crash: a child process (this assembly, <see cref="ChildWriter"/>) appends from several
/// writers and is killed with SIGKILL at a random moment; the log is then recovered in this
/// process. Three rounds on the same folder, so recovery of an already-crashed log is covered too.
/// </summary>
public class CrashRecoveryTests
{
    [Fact]
    public async Task SigkilledWriterLosesNoAcknowledgedWrite()
    {
        using var folder = new TempFolder();
        var random = new Random(11);
        var upserts = new HashSet<long>();
        var deletes = new HashSet<long>();
        var positions = new List<long>();

        for (int round = 0; round < 3; round++)
        {
            var acknowledged = await RunChildUntilKilled(folder.Path, round, killAfterAcks: random.Next(30, 300));
            Assert.True(acknowledged.Count >= 30, $"round {round}: the child acknowledged only {acknowledged.Count} writes");
            foreach (var (kind, id, position) in acknowledged)
            {
                (kind == 'U' ? upserts : deletes).Add(id);
                positions.Add(position);
            }

            // Recover in this process and compare with what the child acknowledged.
            var state = new Dictionary<long, float[]>();
            var deletedInLog = new HashSet<long>();
            var replayedPositions = new HashSet<long>();
            await using (var log = CollectionLog.Open(folder.Path))
            {
                var result = log.Replay(0, (record, next) =>
                {
                    Assert.True(replayedPositions.Add(next), $"position {next} replayed twice");
                    for (int i = 0; i < record.Count; i++)
                    {
                        if (record.Operation == LogOperation.Upsert)
                            state[record.Ids[i]] = record.Vector(i).ToArray();
                        else
                        {
                            state.Remove(record.Ids[i]);
                            deletedInLog.Add(record.Ids[i]);
                        }
                    }
                });
                Assert.Null(result.DroppedTail);
            }

            Assert.All(positions, p => Assert.Contains(p, replayedPositions));
            Assert.All(deletes, id => Assert.False(state.ContainsKey(id), $"acknowledged delete of {id} was undone"));
            foreach (long id in upserts.Where(id => !deletedInLog.Contains(id)))
            {
                Assert.True(state.TryGetValue(id, out var vector), $"acknowledged upsert of {id} was lost");
                for (int j = 0; j < ChildWriter.Dimension; j++)
                    Assert.Equal(Records.Component(id, j), vector![j]);
            }
        }
    }

    private static async Task<List<(char Kind, long Id, long Position)>> RunChildUntilKilled(string folder, int round, int killAfterAcks)
    {
        var assembly = typeof(ChildWriter).Assembly.Location;
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { assembly, ChildWriter.Verb, folder, "4", round.ToString(CultureInfo.InvariantCulture) })
            start.ArgumentList.Add(argument);

        using var child = Process.Start(start)!;
        var stderr = child.StandardError.ReadToEndAsync();
        var acknowledged = new List<(char, long, long)>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        bool killed = false;
        while (await child.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
        {
            if (line.Length > 2 && line[1] == ' ' && (line[0] == 'U' || line[0] == 'D'))
            {
                var parts = line.Split(' ');
                acknowledged.Add((line[0], long.Parse(parts[1], CultureInfo.InvariantCulture), long.Parse(parts[2], CultureInfo.InvariantCulture)));
            }
            if (!killed && acknowledged.Count >= killAfterAcks)
            {
                child.Kill(); // SIGKILL on Linux; the lines already in the pipe are still read below
                killed = true;
            }
        }
        await child.WaitForExitAsync(timeout.Token);
        Assert.True(killed, $"child exited by itself with code {child.ExitCode}: {await stderr}");
        return acknowledged;
    }
}
