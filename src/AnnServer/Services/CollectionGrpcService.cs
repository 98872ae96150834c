using AnnServer.Collections;
using AnnServer.Core;
using AnnServer.Protocol.V1;
using Grpc.Core;

namespace AnnServer.Services;

/// <summary>ann.v1.CollectionService: maps each call onto the <see cref="ICollectionCatalog"/>, the collections a client
/// can name (this server's, and in cluster mode the cluster's beside them under one namespace).</summary>
[BindServiceMethod(typeof(ParseErrorBinder), nameof(ParseErrorBinder.BindCollectionService))]
public sealed class CollectionGrpcService(ICollectionCatalog catalog) : CollectionService.CollectionServiceBase
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
        // HnswOptions.Validate names the parameter (dimension, M, efConstruction); ErrorStatusInterceptor maps it.
        CollectionStatus status = await catalog.CreateAsync(request.Name, options,
            new ClusterPlacement(Clamp(request.Shards), Clamp(request.Replicas)), context.CancellationToken);
        return new CreateCollectionResponse { Info = ProtoMapping.ToProto(status) };
    }

    public override async Task<DropCollectionResponse> DropCollection(DropCollectionRequest request, ServerCallContext context)
    {
        RequestValidation.CollectionName(request.Name, "name");
        await catalog.DropAsync(request.Name, context.CancellationToken);
        return new DropCollectionResponse();
    }

    public override Task<ListCollectionsResponse> ListCollections(ListCollectionsRequest request, ServerCallContext context)
    {
        var response = new ListCollectionsResponse();
        foreach (CollectionStatus status in catalog.List())
            response.Collections.Add(ProtoMapping.ToProto(status));
        return Task.FromResult(response);
    }

    public override Task<CollectionInfo> GetCollectionInfo(GetCollectionInfoRequest request, ServerCallContext context)
    {
        RequestValidation.CollectionName(request.Name, "name");
        using CollectionHandle handle = catalog.Open(request.Name);
        return Task.FromResult(ProtoMapping.ToProto(handle.Collection.Describe()));
    }

    public override async Task<CheckpointResponse> Checkpoint(CheckpointRequest request, ServerCallContext context)
    {
        RequestValidation.CollectionName(request.Name, "name");
        var (status, duration) = await catalog.CheckpointAsync(request.Name, context.CancellationToken);
        return new CheckpointResponse
        {
            Info = ProtoMapping.ToProto(status),
            DurationMicros = (ulong)duration.TotalMicroseconds,
        };
    }

    /// <summary>uint32 fields beyond int range become int.MaxValue, which the range checks then reject by name.</summary>
    private static int Clamp(uint value) => value > int.MaxValue ? int.MaxValue : (int)value;
}
