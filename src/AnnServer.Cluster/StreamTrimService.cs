using AnnServer.Cluster.Replication;
using AnnServer.Cluster.State;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace AnnServer.Cluster;

/// <summary>
/// Bounds the shard streams on NATS' disks (hosted service, nodes that hold replicas, cluster mode only): every
/// <see cref="ClusterOptions.StreamTrimIntervalMs"/>, trims the stream of each shard this node holds a replica of up to
/// its <see cref="StreamTrimPoint"/>. Every replica node of a shard does it; a purge that keeps "sequence X onwards" is
/// idempotent, so they need not agree on who does, and the cost is a stream info and a snapshot info per shard and
/// interval, plus a purge when the point moved.
/// </summary>
public sealed class StreamTrimService : BackgroundService
{
    private readonly ClusterCoordinator _coordinator;
    private readonly ClusterOptions _options;
    private readonly ILogger<StreamTrimService> _logger;
    private readonly ShardStreamTrimmer _trimmer;

    public StreamTrimService(ClusterCoordinator coordinator, ClusterOptions options, ILogger<StreamTrimService> logger)
    {
        _coordinator = coordinator;
        _options = options;
        _logger = logger;
        _trimmer = new ShardStreamTrimmer(coordinator.JetStream, new ShardSnapshotStore(coordinator.JetStream), logger);
    }

    /// <summary>Messages this node purged from shard streams since it started (/metrics:
    /// annserver_stream_trimmed_messages_total).</summary>
    public long TrimmedMessages => _trimmer.TrimmedMessages;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_options.StreamTrimIntervalMs == 0 || !_options.ClusterRole.HoldsReplicas())
            return;
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(_options.StreamTrimIntervalMs));
        string? lastError = null;
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                // Before the state is read whole, an assigned replica may be missing from the view: wait for it.
                if (!_coordinator.IsSynced) continue;
                ClusterView view = _coordinator.View;
                foreach (var (spec, shard) in view.AssignedTo(_options.NodeId).ToList())
                {
                    try
                    {
                        await _trimmer.TrimAsync(spec, shard, StreamTrimPoint.ReportedDurableSequences(view, spec, shard), stoppingToken);
                    }
                    catch (Exception e) when (!stoppingToken.IsCancellationRequested)
                    {
                        // NATS away, or the collection dropped meanwhile: the next interval tries again. Once per message.
                        if (e.Message != lastError)
                            _logger.LogWarning("Trimming the stream of collection {Collection} shard {Shard} failed: {Message}; retrying every {Ms} ms",
                                spec.Name, shard, e.Message, _options.StreamTrimIntervalMs);
                        lastError = e.Message;
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
