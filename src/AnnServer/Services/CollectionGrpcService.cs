using AnnServer.Cluster;
using AnnServer.Cluster.State;
using AnnServer.Collections;
using AnnServer.Core;
using AnnServer.Protocol.V1;
using Grpc.Core;

namespace AnnServer.Services;

/// <summary>ann.v1.CollectionService: maps each call onto the <see cref="CollectionRegistry"/>, or, for a cluster
/// collection (cluster mode, shards ≥ 1), onto the <see cref="ClusterCoordinator"/>. Local and cluster collections share
/// one namespace: a name is either.</summary>
[BindServiceMethod(typeof(ParseErrorBinder), nameof(ParseErrorBinder.BindCollectionService))]
public sealed class CollectionGrpcService(CollectionRegistry registry, ClusterCoordinator? cluster = null) : CollectionService.CollectionServiceBase
{
    public override async Task<CreateCollectionResponse> CreateCollection(CreateCollectionRequest request, ServerCallContext context)
    {
        RequestValidation.CollectionName(request.Name, "name");
        var options = new HnswOptions
        {
            Dimension = Clamp(request.Dimension),
            Metric = ProtoMapping.ToDistanceMetric(request.Metric),
            M = request.M == 0 ? 16 : Clamp(request.M),
            EfConstruction = request.EfConstruction == 0 ? 200 : Clamp(request.EfConstruction),
            Quantization = ProtoMapping.ToVectorQuantization(request.Quantization),
        };
        if (request.Shards == 0 && request.Replicas != 0)
            throw RequestValidation.Invalid($"replicas ({request.Replicas}) is for cluster collections: set shards to 1 or more too");
        if (request.Shards > 0)
            return await CreateClusterCollectionAsync(request, options, context.CancellationToken);
        if (cluster?.SpecOf(request.Name) is not null)
            throw ClusterNameTaken(request.Name);
        // HnswOptions.Validate names the parameter (dimension, M, efConstruction); ErrorStatusInterceptor maps it.
        CollectionStatus status = await registry.CreateAsync(request.Name, options, context.CancellationToken);
        return new CreateCollectionResponse { Info = ProtoMapping.ToProto(status) };
    }

    public override async Task<DropCollectionResponse> DropCollection(DropCollectionRequest request, ServerCallContext context)
    {
        RequestValidation.CollectionName(request.Name, "name");
        if (cluster is not null && await cluster.DropCollectionAsync(request.Name, context.CancellationToken))
            return new DropCollectionResponse();
        await registry.DropAsync(request.Name, context.CancellationToken);
        return new DropCollectionResponse();
    }

    public override Task<ListCollectionsResponse> ListCollections(ListCollectionsRequest request, ServerCallContext context)
    {
        var infos = new List<CollectionInfo>();
        foreach (CollectionStatus status in registry.List())
        {
            // Replicas of cluster shards may be local collections under names outside the user-name rule: not listed.
            if (CollectionName.IsValid(status.Name))
                infos.Add(ProtoMapping.ToProto(status));
        }
        if (cluster is not null)
        {
            ClusterView view = cluster.View;
            foreach (VersionedSpec versioned in view.Collections.Values)
                infos.Add(ClusterProtoMapping.ToInfo(view, versioned.Spec));
        }
        infos.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        var response = new ListCollectionsResponse();
        response.Collections.Add(infos);
        return Task.FromResult(response);
    }

    public override Task<CollectionInfo> GetCollectionInfo(GetCollectionInfoRequest request, ServerCallContext context)
    {
        RequestValidation.CollectionName(request.Name, "name");
        if (cluster?.View is { } view && view.Spec(request.Name) is { } spec)
            return Task.FromResult(ClusterProtoMapping.ToInfo(view, spec));
        using CollectionLease lease = registry.Acquire(request.Name);
        return Task.FromResult(ProtoMapping.ToProto(lease.Collection.Status()));
    }

    public override async Task<CheckpointResponse> Checkpoint(CheckpointRequest request, ServerCallContext context)
    {
        RequestValidation.CollectionName(request.Name, "name");
        if (cluster?.SpecOf(request.Name) is not null)
            throw new RpcException(new Status(StatusCode.FailedPrecondition,
                $"collection '{request.Name}' is a cluster collection: its replicas checkpoint on their own (--checkpoint-log-bytes, --checkpoint-records)"));
        using CollectionLease lease = registry.Acquire(request.Name);
        var (status, duration) = await lease.Collection.CheckpointAsync(context.CancellationToken);
        return new CheckpointResponse
        {
            Info = ProtoMapping.ToProto(status),
            DurationMicros = (ulong)duration.TotalMicroseconds,
        };
    }

    private async Task<CreateCollectionResponse> CreateClusterCollectionAsync(CreateCollectionRequest request, HnswOptions options,
        CancellationToken ct)
    {
        if (cluster is null)
            throw new RpcException(new Status(StatusCode.FailedPrecondition,
                $"shards ({request.Shards}) need cluster mode (--cluster-nats); set shards to 0 for a collection on this server"));
        if (registry.List().Any(c => c.Name == request.Name))
            throw new RpcException(new Status(StatusCode.AlreadyExists, $"collection '{request.Name}' exists already (a local collection on this node)"));
        ClusterCollectionSpec spec = await cluster.CreateCollectionAsync(request.Name, options, Clamp(request.Shards), Clamp(request.Replicas), ct);
        return new CreateCollectionResponse { Info = ClusterProtoMapping.ToInfo(view: null, spec) };
    }

    private static RpcException ClusterNameTaken(string name) =>
        new(new Status(StatusCode.AlreadyExists, $"collection '{name}' exists already (a cluster collection)"));

    /// <summary>uint32 fields beyond int range become int.MaxValue, which the range checks then reject by name.</summary>
    private static int Clamp(uint value) => value > int.MaxValue ? int.MaxValue : (int)value;
}
