using System.Net;
using System.Net.Sockets;

namespace AnnServer.Cluster.Tests;

/// <summary>Loopback TCP ports free at the time of the call. All ports of one call are held open together while they
/// are chosen, so they are distinct; a restart of a process reuses its ports, so its address never changes.</summary>
public static class FreePorts
{
    public static int[] Take(int count)
    {
        var listeners = new TcpListener[count];
        try
        {
            for (int i = 0; i < count; i++)
            {
                listeners[i] = new TcpListener(IPAddress.Loopback, 0);
                listeners[i].Start();
            }
            return listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port).ToArray();
        }
        finally
        {
            foreach (TcpListener? listener in listeners)
                listener?.Stop();
        }
    }
}
