using AnnServer.Collections;
using AnnServer.Settings;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace AnnServer.Hosting;

/// <summary>
/// Loads the collections in the background when the host starts, so that Kestrel listens at once and health answers
/// NOT_SERVING while a large snapshot loads; and at a clean stop, snapshots the collections that have writes since
/// their last snapshot (until the write-ahead log of issue 5 makes every write durable on its own). That happens in
/// <see cref="StoppedAsync"/>, which the host calls after every hosted service, Kestrel included, has stopped: no request
/// can write after the checkpoint. Before anything stops (<see cref="StoppingAsync"/>), compactions in progress are
/// cancelled: a Checkpoint call copying an index would otherwise hold Kestrel's drain, and any copy the shutdown's own
/// checkpoint (which waits for it), for as long as the copy takes.
/// A collection folder that cannot be loaded (damaged files) does not stop the server: the registry quarantines it
/// (FAILED in ListCollections, health Degraded, annserver_collection_failed, FAILED_PRECONDITION to its calls, files
/// untouched) and serves the others. What still stops the server with exit code 1 is a load that cannot go on at all: a
/// --snapshot import that cannot be read (a wrong setting), or an unexpected error.
/// </summary>
public sealed class CollectionLifecycleService(
    CollectionRegistry registry,
    ServerOptions server,
    IHostApplicationLifetime lifetime,
    ILogger<CollectionLifecycleService> logger) : IHostedLifecycleService
{
    private readonly CancellationTokenSource _stopping = new();
    private Task _loading = Task.CompletedTask;

    /// <summary>Why loading failed and the server stopped itself (null otherwise). The process exits with code 1 then.</summary>
    public string? LoadFailure { get; private set; }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _loading = LoadAsync();
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        await _loading;
    }

    public async Task StoppedAsync(CancellationToken cancellationToken)
    {
        if (registry.IsLoaded)
            await registry.CheckpointUnsavedAsync(cancellationToken);
    }

    /// <summary>Takes the data directory's lock before any hosted service starts, Kestrel included: a second server on
    /// the folder stops here, before it opens a port (<see cref="FolderInUseException"/> ends the start).</summary>
    public Task StartingAsync(CancellationToken cancellationToken)
    {
        registry.LockDataDirectory();
        return Task.CompletedTask;
    }

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StoppingAsync(CancellationToken cancellationToken)
    {
        registry.StopCompactions();
        return Task.CompletedTask;
    }

    private async Task LoadAsync()
    {
        try
        {
            await registry.LoadAsync(server.Snapshots.Select(s => new SnapshotImport(s.Key, s.Value)).ToList(), _stopping.Token);
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            LoadFailure = e.Message;
            logger.LogCritical("Stopping: {Message}", e.Message);
            lifetime.StopApplication();
        }
    }
}
