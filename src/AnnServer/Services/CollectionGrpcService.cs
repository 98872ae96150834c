using AnnServer.Collections;
using AnnServer.Core;
using AnnServer.Protocol.V1;
using Grpc.Core;

namespace AnnServer.Services;

/// <summary>ann.v1.CollectionService: maps each call onto the <see cref="CollectionRegistry"/>.</summary>
[BindServiceMethod(typeof(ParseErrorBinder), nameof(ParseErrorBinder.BindCollectionService))]
public sealed class CollectionGrpcService(CollectionRegistry registry) : CollectionService.CollectionServiceBase
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
        // HnswOptions.Validate names the parameter (dimension, M, efConstruction); ErrorStatusInterceptor maps it.
        CollectionStatus status = await registry.CreateAsync(request.Name, options, context.CancellationToken);
        return new CreateCollectionResponse { Info = ProtoMapping.ToProto(status) };
    }

    public override async Task<DropCollectionResponse> DropCollection(DropCollectionRequest request, ServerCallContext context)
    {
        RequestValidation.CollectionName(request.Name, "name");
        await registry.DropAsync(request.Name, context.CancellationToken);
        return new DropCollectionResponse();
    }

    public override Task<ListCollectionsResponse> ListCollections(ListCollectionsRequest request, ServerCallContext context)
    {
        var response = new ListCollectionsResponse();
        foreach (CollectionStatus status in registry.List())
            response.Collections.Add(ProtoMapping.ToProto(status));
        return Task.FromResult(response);
    }

    public override Task<CollectionInfo> GetCollectionInfo(GetCollectionInfoRequest request, ServerCallContext context)
    {
        RequestValidation.CollectionName(request.Name, "name");
        using CollectionLease lease = registry.Acquire(request.Name);
        return Task.FromResult(ProtoMapping.ToProto(lease.Collection.Status()));
    }

    public override async Task<CheckpointResponse> Checkpoint(CheckpointRequest request, ServerCallContext context)
    {
        RequestValidation.CollectionName(request.Name, "name");
        using CollectionLease lease = registry.Acquire(request.Name);
        var (status, duration) = await lease.Collection.CheckpointAsync(context.CancellationToken);
        return new CheckpointResponse
        {
            Info = ProtoMapping.ToProto(status),
            DurationMicros = (ulong)duration.TotalMicroseconds,
        };
    }

    /// <summary>uint32 fields beyond int range become int.MaxValue, which the range checks then reject by name.</summary>
    private static int Clamp(uint value) => value > int.MaxValue ? int.MaxValue : (int)value;
}
