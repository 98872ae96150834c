using System.Collections.Concurrent;
using Grpc.Core;
using Grpc.Net.Client;

namespace AnnServer.Cluster.Transport;

/// <summary>
/// One gRPC channel per node address, created on first use and kept: a channel holds its HTTP/2 connections and
/// reconnects by itself, so a restarted node on the same address is reached again without anything here changing.
/// Every call carries this node's cluster API key (<c>--cluster-api-key</c>) when one is set.
/// </summary>
public sealed class NodeChannels(string? apiKey) : IDisposable
{
    private readonly ConcurrentDictionary<string, GrpcChannel> _channels = new(StringComparer.Ordinal);

    /// <summary>Headers of a node-to-node call: the API key, or none.</summary>
    public Metadata? Headers { get; } = string.IsNullOrEmpty(apiKey) ? null : new Metadata { { "authorization", "Bearer " + apiKey } };

    public CallInvoker Invoker(string address) => _channels.GetOrAdd(address, Open).CreateCallInvoker();

    private static GrpcChannel Open(string address) => GrpcChannel.ForAddress(address, new GrpcChannelOptions
    {
        MaxReceiveMessageSize = null,
        MaxSendMessageSize = null,
        HttpHandler = new SocketsHttpHandler
        {
            // A dead node's address may swallow packets (no RST): give up connecting quickly so the retry goes elsewhere.
            ConnectTimeout = TimeSpan.FromSeconds(2),
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            KeepAlivePingDelay = TimeSpan.FromSeconds(20),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(10),
            EnableMultipleHttp2Connections = true,
        },
    });

    public void Dispose()
    {
        foreach (GrpcChannel channel in _channels.Values)
            channel.Dispose();
        _channels.Clear();
    }
}
