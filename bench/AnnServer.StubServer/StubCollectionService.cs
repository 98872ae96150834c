using AnnServer.Protocol.V1;
using Grpc.Core;

namespace AnnServer.StubServer;

/// <summary>Describes the stub's collection under whatever name is asked, so that `ann-bench load` can start.</summary>
public sealed class StubCollectionService(StubCollection collection) : CollectionService.CollectionServiceBase
{
    public override Task<CollectionInfo> GetCollectionInfo(GetCollectionInfoRequest request, ServerCallContext context) =>
        Task.FromResult(new CollectionInfo
        {
            Name = request.Name,
            Dimension = (uint)collection.Dimension,
            Metric = Metric.L2,
            M = 16,
            EfConstruction = 200,
        });
}
