using System.Net;
using AnnServer.Settings;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;

namespace AnnServer.Hosting;

/// <summary>
/// <c>annserver healthcheck</c>: calls grpc.health.v1 Check on the server configured by the same settings (so the
/// container's HEALTHCHECK needs no other tool) and exits 0 when it answers SERVING, 1 otherwise.
/// Under mutual TLS the probe has no client certificate to present, so it asks the metrics port's /healthz instead
/// (plain HTTP on the same host; the same health check behind it).
/// </summary>
public static class HealthCheckCommand
{
    public static async Task<int> RunAsync(ServerOptions server, SecurityOptions security, TextWriter output, TimeSpan timeout)
    {
        string host = server.Host is "*" or "0.0.0.0" or "::" or "[::]" ? "127.0.0.1" : server.Host;
        if (IPAddress.TryParse(host, out IPAddress? ip) && ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6)
            host = $"[{host}]";
        if (security.TlsClientCa is not null)
            return await ProbeHealthzAsync($"http://{host}:{server.MetricsPort}/healthz", output, timeout);
        string address = $"{(security.UseTls ? "https" : "http")}://{host}:{server.Port}";

        var handler = new SocketsHttpHandler();
        if (security.UseTls)
        {
            // A probe of our own process over loopback: the certificate is for the service's public name, not for
            // 127.0.0.1, so it cannot be validated here; what is checked is that the server answers.
            handler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;
        }
        try
        {
            using GrpcChannel channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions { HttpHandler = handler });
            var client = new Health.HealthClient(channel);
            HealthCheckResponse response = await client.CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow + timeout);
            output.WriteLine($"{address}: {response.Status}");
            return response.Status == HealthCheckResponse.Types.ServingStatus.Serving ? 0 : 1;
        }
        catch (RpcException e)
        {
            output.WriteLine($"{address}: {e.StatusCode} {e.Status.Detail}");
            return 1;
        }
    }

    private static async Task<int> ProbeHealthzAsync(string url, TextWriter output, TimeSpan timeout)
    {
        using var http = new HttpClient { Timeout = timeout };
        try
        {
            using HttpResponseMessage response = await http.GetAsync(url);
            string body = await response.Content.ReadAsStringAsync();
            output.WriteLine($"{url}: {(int)response.StatusCode} {body}");
            // "Degraded" (collections that failed to load, the others served) is SERVING on grpc health too.
            string status = body.Split('\n', 2)[0].Trim();
            return response.IsSuccessStatusCode && status is "Healthy" or "Degraded" ? 0 : 1;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            output.WriteLine($"{url}: {e.Message}");
            return 1;
        }
    }
}
