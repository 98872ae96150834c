using Grpc.Core;

namespace AnnServer.Tests;

/// <summary>Bytes that are not a protobuf message get INVALID_ARGUMENT naming the message type (Services/ParseErrorBinder),
/// not UNKNOWN, on every method of both services.</summary>
public sealed class MalformedMessageTests
{
    private static readonly Marshaller<byte[]> Bytes = Marshallers.Create(b => b, b => b);

    [Theory]
    [InlineData("ann.v1.VectorService", "Search", "SearchRequest")]
    [InlineData("ann.v1.VectorService", "Upsert", "UpsertRequest")]
    [InlineData("ann.v1.CollectionService", "CreateCollection", "CreateCollectionRequest")]
    [InlineData("ann.v1.CollectionService", "ListCollections", "ListCollectionsRequest")]
    public async Task BytesThatAreNotAMessageAreInvalidArgument(string service, string method, string type)
    {
        await using RunningServer server = await RunningServer.StartAsync();
        var call = new Method<byte[], byte[]>(MethodType.Unary, service, method, Bytes, Bytes);

        // Field 2 declared 3 bytes long with 2 present; then a varint that never ends.
        foreach (byte[] body in new[] { new byte[] { 0x12, 0x03, 1, 2 }, new byte[] { 0x08, 0x80, 0x80 } })
        {
            RpcException e = await Assert.ThrowsAsync<RpcException>(async () =>
                await server.Channel.CreateCallInvoker().AsyncUnaryCall(call, null, new CallOptions(), body));
            Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
            Assert.StartsWith($"the request is not a valid {type} message (protobuf): ", e.Status.Detail);
        }
    }
}
