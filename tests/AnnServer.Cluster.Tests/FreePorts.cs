using System.Net;
using System.Net.Sockets;

namespace AnnServer.Cluster.Tests;

/// <summary>
/// Loopback TCP ports free at the time of the call, chosen at random below Linux's ephemeral range (32768–60999 by
/// default). Ports from that range (what "port 0" gives) can be taken between our check and the server's bind, or while
/// a killed server is down, by any outgoing connection on the machine (several agents run NATS tests here at once);
/// ports below it are only ever taken on purpose. All ports of one call are held open together while they are chosen,
/// so they are distinct; a restart of a process reuses its ports, so its address never changes.
/// <para>No port is handed out twice in one test process: test classes run in parallel, and a port chosen for a node
/// that takes a second to start is still free when another class picks ports for its NATS servers (CI failed on
/// exactly that: "address already in use" on a node's port, 14 tests of one fixture).</para>
/// </summary>
public static class FreePorts
{
    private const int Low = 20_000, High = 32_700;
    private static readonly HashSet<int> HandedOut = [];

    public static int[] Take(int count)
    {
        var listeners = new List<TcpListener>(count);
        try
        {
            for (int attempt = 0; listeners.Count < count; attempt++)
            {
                if (attempt > 2000) throw new InvalidOperationException($"no {count} free loopback ports in {Low}-{High}");
                int port = Random.Shared.Next(Low, High);
                lock (HandedOut)
                {
                    if (!HandedOut.Add(port)) continue;
                }
                var listener = new TcpListener(IPAddress.Loopback, port);
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
