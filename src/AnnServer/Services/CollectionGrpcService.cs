using System.Runtime.CompilerServices;
using AnnServer.Collections;
using AnnServer.Core;
using AnnServer.Protocol.V1;
using Grpc.Core;

namespace AnnServer.Services;

/// <summary>ann.v1.CollectionService: maps each call onto the <see cref="ICollectionCatalog"/>, the collections and
/// aliases a client can name (this server's, and in cluster mode the cluster's beside them under one namespace).</summary>
[BindServiceMethod(typeof(ParseErrorBinder.CollectionBinding), nameof(ParseErrorBinder.CollectionBinding.Bind))]
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
            LinkedFields = [.. request.LinkedFields],
        };
        if (request.Shards == 0 && request.Replicas != 0)
            throw RequestValidation.Invalid($"replicas ({request.Replicas}) is for cluster collections: set shards to 1 or more too");
        // HnswOptions.Validate names the parameter (dimension, M, efConstruction); ErrorStatus maps it (ServerCallInterceptor).
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

    public override async Task<LinkFieldResponse> LinkField(LinkFieldRequest request, ServerCallContext context)
    {
        RequestValidation.CollectionName(request.Name, "name");
        if (request.Field.Length == 0) throw RequestValidation.Invalid("field is empty: name the keyword payload field to link");
        long started = System.Diagnostics.Stopwatch.GetTimestamp();
        // HnswIndex.ValidateLinkedField names the field and the limit; ErrorStatus maps it (ServerCallInterceptor) to INVALID_ARGUMENT.
        CollectionStatus status = await catalog.LinkFieldAsync(request.Name, request.Field, context.CancellationToken);
        return new LinkFieldResponse
        {
            Info = ProtoMapping.ToProto(status),
            DurationMicros = (ulong)System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMicroseconds,
        };
    }

    public override async Task<LoadSnapshotResponse> LoadSnapshot(LoadSnapshotRequest request, ServerCallContext context)
    {
        RequestValidation.CollectionName(request.Name, "name");
        SnapshotLoadResult result = await catalog.LoadSnapshotAsync(request.Name, new ImportedSnapshotFile(request.Path, Clamp(request.Replicas)),
            context.CancellationToken);
        return ToResponse(result);
    }

    /// <summary>The header is checked here; the chunks are handed to the catalog as they arrive (see
    /// <see cref="Chunks"/>), which writes them to disk, so an upload never sits in memory.</summary>
    public override async Task<LoadSnapshotResponse> UploadSnapshot(IAsyncStreamReader<UploadSnapshotRequest> requestStream,
        ServerCallContext context)
    {
        if (!await requestStream.MoveNext(context.CancellationToken))
            throw RequestValidation.Invalid("the upload is empty: its first message must be the header (name, total_bytes, sha256)");
        if (requestStream.Current.PartCase != UploadSnapshotRequest.PartOneofCase.Header)
            throw RequestValidation.Invalid("the first message of an upload must be the header (name, total_bytes, sha256), not a chunk");
        UploadSnapshotHeader header = requestStream.Current.Header;
        RequestValidation.CollectionName(header.Name, "header.name");
        if (header.TotalBytes == 0)
            throw RequestValidation.Invalid("header.total_bytes must be at least 1 (the snapshot file's size)");
        if (header.Sha256.Length != 32)
            throw RequestValidation.Invalid($"header.sha256 must be the 32 bytes of the file's SHA-256, got {header.Sha256.Length} bytes");
        var upload = new SnapshotUpload((long)Math.Min(header.TotalBytes, long.MaxValue), header.Sha256.ToByteArray(),
            Chunks(requestStream, context.CancellationToken));
        SnapshotLoadResult result = await catalog.LoadSnapshotAsync(header.Name, upload, context.CancellationToken);
        return ToResponse(result);
    }

    public override async Task<CreateAliasResponse> CreateAlias(CreateAliasRequest request, ServerCallContext context)
    {
        RequestValidation.CollectionName(request.Alias, "alias");
        RequestValidation.CollectionName(request.Collection, "collection");
        await catalog.CreateAliasAsync(request.Alias, request.Collection, context.CancellationToken);
        return new CreateAliasResponse();
    }

    public override async Task<SwitchAliasResponse> SwitchAlias(SwitchAliasRequest request, ServerCallContext context)
    {
        RequestValidation.CollectionName(request.Alias, "alias");
        RequestValidation.CollectionName(request.Collection, "collection");
        if (request.ExpectedCollection.Length > 0)
            RequestValidation.CollectionName(request.ExpectedCollection, "expected_collection");
        string previous = await catalog.SwitchAliasAsync(request.Alias, request.Collection,
            request.ExpectedCollection.Length > 0 ? request.ExpectedCollection : null, context.CancellationToken);
        return new SwitchAliasResponse { PreviousCollection = previous };
    }

    public override async Task<DeleteAliasResponse> DeleteAlias(DeleteAliasRequest request, ServerCallContext context)
    {
        RequestValidation.CollectionName(request.Alias, "alias");
        await catalog.DeleteAliasAsync(request.Alias, context.CancellationToken);
        return new DeleteAliasResponse();
    }

    public override Task<ListAliasesResponse> ListAliases(ListAliasesRequest request, ServerCallContext context)
    {
        var response = new ListAliasesResponse();
        foreach (CollectionAlias alias in catalog.ListAliases())
            response.Aliases.Add(new Alias { Alias_ = alias.Alias, Collection = alias.Collection });
        return Task.FromResult(response);
    }

    /// <summary>The upload's chunks after the header, as they arrive; a second header is refused.</summary>
    private static async IAsyncEnumerable<ReadOnlyMemory<byte>> Chunks(IAsyncStreamReader<UploadSnapshotRequest> requestStream,
        [EnumeratorCancellation] CancellationToken ct)
    {
        int message = 1;
        while (await requestStream.MoveNext(ct))
        {
            if (requestStream.Current.PartCase != UploadSnapshotRequest.PartOneofCase.Chunk)
                throw RequestValidation.Invalid($"message {message} of the upload is not a chunk: only the first message is the header");
            message++;
            yield return requestStream.Current.Chunk.Memory;
        }
    }

    private static LoadSnapshotResponse ToResponse(SnapshotLoadResult result) => new()
    {
        Info = ProtoMapping.ToProto(result.Status),
        Bytes = (ulong)result.Bytes,
        DurationMicros = (ulong)result.Duration.TotalMicroseconds,
    };

    /// <summary>uint32 fields beyond int range become int.MaxValue, which the range checks then reject by name.</summary>
    private static int Clamp(uint value) => value > int.MaxValue ? int.MaxValue : (int)value;
}
