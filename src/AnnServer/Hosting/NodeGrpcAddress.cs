using System.Net;
using AnnServer.Cluster;
using AnnServer.Settings;

namespace AnnServer.Hosting;

/// <summary>This node's gRPC address as other nodes reach it: https with TLS, the listening host (the machine's name
/// when it listens on every interface), the port Kestrel bound.</summary>
public sealed class NodeGrpcAddress(ServerOptions server, SecurityOptions security, ServerEndpoints endpoints) : INodeAddress
{
    public string GrpcAddress
    {
        get
        {
            string scheme = security.UseTls ? "https" : "http";
            string host = server.Host switch
            {
                "*" or "any" or "0.0.0.0" or "::" or "[::]" => Dns.GetHostName(),
                _ when IPAddress.TryParse(server.Host.Trim('[', ']'), out IPAddress? ip) && ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6
                    => $"[{ip}]",
                _ => server.Host,
            };
            return $"{scheme}://{host}:{endpoints.GrpcPort}";
        }
    }
}
