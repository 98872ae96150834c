using AnnServer.Collections;
using AnnServer.Protocol.V1;
using IdSetInfo = AnnServer.Collections.IdSetInfo;
using Grpc.Core;

namespace AnnServer.Services;

// Stored id sets: PutIdSet, DeleteIdSet, ListIdSets onto the collection's ICollectionIdSets (names checked here by the
// collections library's rule; ids, TTL and the bounds by the sets themselves).
public sealed partial class VectorGrpcService
{
    public override async Task<PutIdSetResponse> PutIdSet(PutIdSetRequest request, ServerCallContext context)
    {
        RequestValidation.CollectionName(request.Collection);
        IdSetNameField(request.Name, "name");
        if (request.TtlSeconds < 0)
            throw RequestValidation.Invalid($"ttl_seconds is {request.TtlSeconds}: give a positive number of seconds, or 0 for no expiry");
        TimeSpan? ttl = request.TtlSeconds == 0 ? null : TimeSpan.FromSeconds(Math.Min(request.TtlSeconds, (long)TimeSpan.MaxValue.TotalSeconds / 2));
        using CollectionHandle handle = catalog.Open(request.Collection);
        IdSetInfo set = await handle.Collection.IdSets.PutAsync(request.Name, [.. request.Ids], ttl, context.CancellationToken)
            .ConfigureAwait(false);
        return new PutIdSetResponse { Set = ToMessage(set) };
    }

    public override async Task<DeleteIdSetResponse> DeleteIdSet(DeleteIdSetRequest request, ServerCallContext context)
    {
        RequestValidation.CollectionName(request.Collection);
        IdSetNameField(request.Name, "name");
        using CollectionHandle handle = catalog.Open(request.Collection);
        bool deleted = await handle.Collection.IdSets.DeleteAsync(request.Name, context.CancellationToken).ConfigureAwait(false);
        return new DeleteIdSetResponse { Deleted = deleted };
    }

    public override async Task<ListIdSetsResponse> ListIdSets(ListIdSetsRequest request, ServerCallContext context)
    {
        RequestValidation.CollectionName(request.Collection);
        using CollectionHandle handle = catalog.Open(request.Collection);
        IReadOnlyList<IdSetInfo> sets = await handle.Collection.IdSets.ListAsync(context.CancellationToken).ConfigureAwait(false);
        var response = new ListIdSetsResponse();
        foreach (IdSetInfo set in sets) response.Sets.Add(ToMessage(set));
        return response;
    }

    private static void IdSetNameField(string name, string field)
    {
        try
        {
            IdSetName.Validate(name, field);
        }
        catch (ArgumentException e)
        {
            throw RequestValidation.Invalid(e.Message.Replace($" (Parameter '{field}')", "", StringComparison.Ordinal));
        }
    }

    private static Protocol.V1.IdSetInfo ToMessage(IdSetInfo set) => new()
    {
        Name = set.Name,
        Count = (ulong)set.Count,
        Bytes = (ulong)set.Bytes,
        ExpiresAtUnixMs = set.ExpiresAt?.ToUnixTimeMilliseconds() ?? 0,
    };
}
