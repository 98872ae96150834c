using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Net;

namespace AnnServer.Cluster.Tests;

/// <summary>The NatsCluster fixture on its own: what the cluster tests rely on NATS for.</summary>
public sealed class NatsClusterTests
{
    [Fact]
    public async Task AThreeWayReplicatedStreamKeepsEveryAcknowledgedMessageWhenItsLeaderIsKilled()
    {
        await using NatsCluster nats = await NatsCluster.StartAsync();
        await using NatsClient client = nats.Connect();
        INatsJSContext js = client.CreateJetStreamContext();
        INatsJSStream stream = await js.CreateStreamAsync(new StreamConfig("FIXTURE", ["fixture.>"])
        {
            NumReplicas = 3,
            Storage = StreamConfigStorage.File,
        });
        Assert.Equal(2, stream.Info.Cluster?.Replicas?.Count);

        for (int i = 0; i < 100; i++)
            await PublishWithRetriesAsync(js, i);

        string leader = stream.Info.Cluster!.Leader!;
        int killed = NatsCluster.IndexOf(leader);
        await nats.KillAsync(killed);
        Assert.False(nats.IsRunning(killed));

        // A new leader is elected among the two left; publishes retried with the same Nats-Msg-Id are stored once.
        for (int i = 100; i < 200; i++)
            await PublishWithRetriesAsync(js, i);
        await stream.RefreshAsync();
        Assert.Equal(200L, stream.Info.State.Messages);
        Assert.NotEqual(leader, stream.Info.Cluster!.Leader);

        // The killed server comes back on the same ports and store and catches up.
        await nats.RestartAsync(killed);
        DateTime deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            await stream.RefreshAsync();
            PeerInfo? peer = stream.Info.Cluster!.Replicas?.FirstOrDefault(r => r.Name == leader);
            bool caughtUp = stream.Info.Cluster.Leader == leader || peer is { Current: true, Lag: 0 };
            if (caughtUp) break;
            Assert.True(DateTime.UtcNow < deadline, $"restarted {leader} did not catch up: lag {peer?.Lag}, current {peer?.Current}");
            await Task.Delay(100);
        }

        // Every message is readable, in order, exactly once.
        var seen = new List<int>();
        INatsJSConsumer consumer = await js.CreateOrderedConsumerAsync("FIXTURE");
        await foreach (NatsJSMsg<int> message in consumer.FetchAsync<int>(new NatsJSFetchOpts { MaxMsgs = 200, Expires = TimeSpan.FromSeconds(5) }))
            seen.Add(message.Data);
        Assert.Equal(Enumerable.Range(0, 200), seen);
    }

    private static async Task PublishWithRetriesAsync(INatsJSContext js, int value)
    {
        string id = $"fixture-{value}";
        DateTime deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                PubAckResponse ack = await js.PublishAsync($"fixture.{value % 4}", value, opts: new NatsJSPubOpts { MsgId = id }, cancellationToken: timeout.Token);
                ack.EnsureSuccess();
                return;
            }
            catch (Exception e) when (e is NatsException or OperationCanceledException or TimeoutException && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }
    }
}
