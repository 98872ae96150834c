using System.Net;
using System.Net.Sockets;

namespace AnnServer.Tests;

/// <summary>Free loopback ports for servers the tests start.</summary>
internal static class FreePorts
{
    public static int One()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Two different free ports, both held until both are known: ports taken one after the other can be the same
    /// one (the first is free again when the second is asked for), which the server refuses (--port and --metrics-port
    /// must differ; seen once in CI).</summary>
    public static (int, int) Two()
    {
        using var first = new TcpListener(IPAddress.Loopback, 0);
        using var second = new TcpListener(IPAddress.Loopback, 0);
        first.Start();
        second.Start();
        return (((IPEndPoint)first.LocalEndpoint).Port, ((IPEndPoint)second.LocalEndpoint).Port);
    }
}
