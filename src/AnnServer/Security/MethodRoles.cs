using System.Collections.Frozen;
using AnnServer.Hosting;

namespace AnnServer.Security;

/// <summary>
/// The role each gRPC method requires. Health checking and reflection are open (load balancers and grpcurl must reach
/// them without a key). Every ann.v1 and ann.internal.v1 method is listed by name; any other method, including one added
/// to a .proto later and not listed here, requires <see cref="ApiRole.Admin"/>: a forgotten entry fails closed (a test
/// checks that every method of the .proto files is listed).
/// </summary>
public static class MethodRoles
{
    private static readonly string[] OpenServices =
    [
        "/grpc.health.v1.Health/",
        "/grpc.reflection.v1alpha.ServerReflection/",
        "/grpc.reflection.v1.ServerReflection/",
        // The OpenAPI document of the JSON-over-HTTP API: what reflection tells a gRPC client, for an HTTP one.
        JsonHttpApi.OpenApiDocumentPrefix,
    ];

    public static FrozenDictionary<string, ApiRole> Required { get; } = new Dictionary<string, ApiRole>
    {
        ["/ann.v1.VectorService/Search"] = ApiRole.Read,
        ["/ann.v1.VectorService/SearchBatch"] = ApiRole.Read,
        ["/ann.v1.VectorService/SearchStream"] = ApiRole.Read,
        ["/ann.v1.VectorService/Recommend"] = ApiRole.Read,
        ["/ann.v1.VectorService/Get"] = ApiRole.Read,
        ["/ann.v1.VectorService/Count"] = ApiRole.Read,
        ["/ann.v1.VectorService/Scroll"] = ApiRole.Read,
        ["/ann.v1.CollectionService/GetCollectionInfo"] = ApiRole.Read,
        ["/ann.v1.CollectionService/ListCollections"] = ApiRole.Read,
        ["/ann.v1.VectorService/Upsert"] = ApiRole.Write,
        ["/ann.v1.VectorService/Delete"] = ApiRole.Write,
        ["/ann.v1.VectorService/SetPayload"] = ApiRole.Write,
        ["/ann.v1.VectorService/DeletePayload"] = ApiRole.Write,
        ["/ann.v1.VectorService/ClearPayload"] = ApiRole.Write,
        // Stored id sets take server memory and replace each other by name: a read key may only list them.
        ["/ann.v1.VectorService/PutIdSet"] = ApiRole.Write,
        ["/ann.v1.VectorService/DeleteIdSet"] = ApiRole.Write,
        ["/ann.v1.VectorService/ListIdSets"] = ApiRole.Read,
        ["/ann.v1.CollectionService/CreateCollection"] = ApiRole.Admin,
        ["/ann.v1.CollectionService/DropCollection"] = ApiRole.Admin,
        ["/ann.v1.CollectionService/Checkpoint"] = ApiRole.Admin,
        ["/ann.v1.CollectionService/LinkField"] = ApiRole.Admin,
        ["/ann.v1.CollectionService/LoadSnapshot"] = ApiRole.Admin,
        ["/ann.v1.CollectionService/UploadSnapshot"] = ApiRole.Admin,
        ["/ann.v1.CollectionService/CreateAlias"] = ApiRole.Admin,
        ["/ann.v1.CollectionService/SwitchAlias"] = ApiRole.Admin,
        ["/ann.v1.CollectionService/DeleteAlias"] = ApiRole.Admin,
        ["/ann.v1.CollectionService/ListAliases"] = ApiRole.Read,
        // Cluster mode: reading the state and node-to-node shard reads need read; changing the shard map needs admin.
        ["/ann.v1.ClusterService/GetClusterState"] = ApiRole.Read,
        ["/ann.internal.v1.ShardService/SearchShard"] = ApiRole.Read,
        ["/ann.internal.v1.ShardService/GetShard"] = ApiRole.Read,
        ["/ann.internal.v1.ShardService/CountShard"] = ApiRole.Read,
        ["/ann.internal.v1.ShardService/ScrollShard"] = ApiRole.Read,
        ["/ann.internal.v1.ShardService/SearchShardGroups"] = ApiRole.Read,
        ["/ann.v1.ClusterService/AssignReplica"] = ApiRole.Admin,
        ["/ann.v1.ClusterService/RemoveReplica"] = ApiRole.Admin,
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>The role <paramref name="method"/> (a full gRPC path, "/package.Service/Method") requires, or null when
    /// it is open to every caller.</summary>
    public static ApiRole? For(string method)
    {
        if (Required.TryGetValue(method, out ApiRole role))
            return role;
        foreach (string open in OpenServices)
            if (method.StartsWith(open, StringComparison.Ordinal)) return null;
        return ApiRole.Admin;
    }
}
