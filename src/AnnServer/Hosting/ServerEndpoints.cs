using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace AnnServer.Hosting;

/// <summary>The listening endpoints. After start, Kestrel has written the bound address into each ListenOptions,
/// so the ports are the real ones even when 0 ("pick a free port") was configured, as tests do.</summary>
public sealed class ServerEndpoints
{
    internal ListenOptions? Grpc { get; set; }
    internal ListenOptions? Metrics { get; set; }
    internal ListenOptions? Http { get; set; }

    /// <summary>The gRPC port, once the server has started.</summary>
    public int GrpcPort => PortOf(Grpc, "gRPC");

    /// <summary>The metrics port, once the server has started.</summary>
    public int MetricsPort => PortOf(Metrics, "metrics");

    /// <summary>The JSON-over-HTTP port, once the server has started (none with --http-port -1).</summary>
    public int HttpPort => PortOf(Http, "JSON over HTTP");

    private static int PortOf(ListenOptions? listen, string what) => listen?.EndPoint is IPEndPoint endpoint
        ? endpoint.Port
        : throw new InvalidOperationException($"the {what} endpoint is not an IP endpoint, or the server has not started");
}
