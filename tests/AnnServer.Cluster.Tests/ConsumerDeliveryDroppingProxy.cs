using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace AnnServer.Cluster.Tests;

/// <summary>
/// A TCP proxy in front of one nats-server that drops every message the server sends whose subject starts with
/// <see cref="DroppedSubjectPrefix"/>, and passes everything else both ways. A JetStream consumer delivers a stream's
/// messages under their own subject (the shard streams' <c>ann.writes.…</c>), while its heartbeats, the JetStream API's
/// answers and everything else come on inboxes: a client connected through it has consumers that keep their heartbeats
/// and deliver nothing, as seen after a NATS server's thaw (docs/cluster.md, "Failure behaviour"). The servers' other
/// addresses are removed from what they announce, so the client never reconnects around it.
/// </summary>
public sealed partial class ConsumerDeliveryDroppingProxy : IAsyncDisposable
{
    public const string DroppedSubjectPrefix = "ann.writes.";

    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly IPEndPoint _server;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _pumps = [];
    private readonly Task _accepting;
    private long _dropped;

    public ConsumerDeliveryDroppingProxy(string serverUrl)
    {
        var uri = new Uri(serverUrl);
        _server = new IPEndPoint(IPAddress.Parse(uri.Host), uri.Port);
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public string Url => $"nats://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    /// <summary>Messages dropped so far.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    private async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                TcpClient client = await _listener.AcceptTcpClientAsync(_stop.Token);
                var server = new TcpClient();
                await server.ConnectAsync(_server, _stop.Token);
                lock (_pumps)
                {
                    _pumps.Add(PumpAsync(client.GetStream(), server.GetStream(), client, server, filter: false));
                    _pumps.Add(PumpAsync(server.GetStream(), client.GetStream(), server, client, filter: true));
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    private async Task PumpAsync(NetworkStream from, NetworkStream to, TcpClient source, TcpClient destination, bool filter)
    {
        var buffer = new byte[64 * 1024];
        var pending = new List<byte>();
        try
        {
            while (true)
            {
                int read = await from.ReadAsync(buffer, _stop.Token);
                if (read == 0) break;
                if (!filter)
                {
                    await to.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
                    continue;
                }
                pending.AddRange(buffer.AsSpan(0, read));
                byte[] forward = TakeWholeOperations(pending);
                if (forward.Length > 0) await to.WriteAsync(forward, _stop.Token);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
        {
        }
        finally
        {
            source.Dispose();
            destination.Dispose();
        }
    }

    /// <summary>Removes the complete protocol operations from the front of <paramref name="pending"/> and returns those
    /// to pass on: all but the dropped messages, with INFO's other server addresses removed.</summary>
    private byte[] TakeWholeOperations(List<byte> pending)
    {
        var forward = new List<byte>();
        int at = 0;
        while (true)
        {
            int lineEnd = IndexOfLineEnd(pending, at);
            if (lineEnd < 0) break;
            string line = Encoding.ASCII.GetString(pending.GetRange(at, lineEnd - at).ToArray());
            int end = lineEnd + 2;
            bool drop = false;
            if (line.StartsWith("MSG ", StringComparison.Ordinal) || line.StartsWith("HMSG ", StringComparison.Ordinal))
            {
                // MSG <subject> <sid> [reply-to] <bytes> and HMSG <subject> <sid> [reply-to] <header bytes> <total bytes>,
                // then the payload and CRLF.
                string[] fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                end += int.Parse(fields[^1]) + 2;
                if (end > pending.Count) break;
                drop = fields[1].StartsWith(DroppedSubjectPrefix, StringComparison.Ordinal);
            }
            if (drop)
                Interlocked.Increment(ref _dropped);
            else if (line.StartsWith("INFO ", StringComparison.Ordinal))
                forward.AddRange(Encoding.ASCII.GetBytes(ConnectUrls().Replace(line, "") + "\r\n"));
            else
                forward.AddRange(pending.GetRange(at, end - at));
            at = end;
        }
        pending.RemoveRange(0, at);
        return [.. forward];
    }

    private static int IndexOfLineEnd(List<byte> bytes, int from)
    {
        for (int i = from; i + 1 < bytes.Count; i++)
            if (bytes[i] == '\r' && bytes[i + 1] == '\n')
                return i;
        return -1;
    }

    [GeneratedRegex(",\"connect_urls\":\\[[^\\]]*\\]")]
    private static partial Regex ConnectUrls();

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        Task[] pumps;
        lock (_pumps) pumps = [.. _pumps];
        await Task.WhenAll(pumps);
        _stop.Dispose();
    }
}
