using System.Net;
using System.Net.Sockets;

namespace AnnServer.Cluster.Tests;

/// <summary>
/// Loopback TCP ports free at the time of the call, chosen at random below Linux's ephemeral range (32768–60999 by
/// default). Ports from that range (what "port 0" gives) can be taken between our check and the server's bind, or while
/// a killed server is down, by any outgoing connection on the machine (several agents run NATS tests here at once);
/// ports below it are only ever taken on purpose. All ports of one call are held open together while they are chosen,
/// so they are distinct; a restart of a process reuses its ports, so its address never changes.
/// </summary>
public static class FreePorts
{
    private const int Low = 20_000, High = 32_700;

    public static int[] Take(int count)
    {
        var listeners = new List<TcpListener>(count);
        try
        {
            for (int attempt = 0; listeners.Count < count; attempt++)
            {
                if (attempt > 2000) throw new InvalidOperationException($"no {count} free loopback ports in {Low}-{High}");
                var listener = new TcpListener(IPAddress.Loopback, Random.Shared.Next(Low, High));
                try
                {
                    listener.Start();
                    listeners.Add(listener);
                }
                catch (SocketException)
                {
                    // in use: try another
                }
            }
            return listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port).ToArray();
        }
        finally
        {
            foreach (TcpListener listener in listeners)
                listener.Stop();
        }
    }
}
