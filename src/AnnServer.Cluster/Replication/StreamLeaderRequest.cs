using System.Globalization;
using System.Text;
using System.Text.Json;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace AnnServer.Cluster.Replication;

/// <summary>
/// A JetStream API request about one stream (its sequences, one of its messages) whose answer is the stream leader's.
/// Every server of the stream's group receives such a request; the leader answers it, the others stay silent, except a
/// server that has lost touch with the meta group, which answers at once "JetStream system temporarily unavailable"
/// (503, 10008). The library's requests take the first answer, so for several seconds after a frozen NATS server's
/// thaw they failed while the leader answered right behind it (seen in NatsHangTests: 6 to 8 failed reads in a row).
/// Here the answers are read until one is not that. The answers are read from their JSON by hand: the library's
/// serializer context for its models is internal.
/// </summary>
internal static class StreamLeaderRequest
{
    /// <summary>JetStream's error code for "JetStream system temporarily unavailable" (10008), with status 503.</summary>
    public const int ClusterUnavailableErrorCode = 10008;

    /// <summary>The stream's first and last sequence (first = last + 1 when it is empty), as its leader answers.</summary>
    public static async Task<(ulong First, ulong Last)> SequencesAsync(INatsJSContext js, string stream, TimeSpan timeout, CancellationToken ct)
    {
        using JsonDocument answer = await SendAsync(js, $"STREAM.INFO.{stream}", [], timeout, ct).ConfigureAwait(false);
        JsonElement state = answer.RootElement.GetProperty("state");
        return (state.GetProperty("first_seq").GetUInt64(), state.GetProperty("last_seq").GetUInt64());
    }

    /// <summary>The body of message <paramref name="sequence"/> of the stream, as its leader answers.</summary>
    /// <exception cref="NatsJSApiException">among others, 10037 "no message found".</exception>
    public static async Task<byte[]> MessageAsync(INatsJSContext js, string stream, ulong sequence, TimeSpan timeout, CancellationToken ct)
    {
        byte[] request = Encoding.ASCII.GetBytes($"{{\"seq\":{sequence.ToString(CultureInfo.InvariantCulture)}}}");
        using JsonDocument answer = await SendAsync(js, $"STREAM.MSG.GET.{stream}", request, timeout, ct).ConfigureAwait(false);
        JsonElement message = answer.RootElement.GetProperty("message");
        ulong stored = message.GetProperty("seq").GetUInt64();
        if (stored != sequence)
            throw new InvalidDataException($"stream {stream} answered sequence {stored} when asked for {sequence}");
        // Base64 in the JSON; an empty body comes without the field.
        return message.TryGetProperty("data", out JsonElement data) ? data.GetBytesFromBase64() : [];
    }

    /// <exception cref="NatsJSApiException">the leader answered an error, or only 503s came.</exception>
    /// <exception cref="TimeoutException">no answer within <paramref name="timeout"/>.</exception>
    private static async Task<JsonDocument> SendAsync(INatsJSContext js, string api, byte[] body, TimeSpan timeout, CancellationToken ct)
    {
        string subject = $"{js.Opts.Prefix}.{api}";
        NatsJSApiException? unavailable = null;
        await foreach (NatsMsg<byte[]> reply in js.Connection.RequestManyAsync<byte[], byte[]>(subject, body,
                           replyOpts: new NatsSubOpts { Timeout = timeout }, cancellationToken: ct).ConfigureAwait(false))
        {
            if (reply.HasNoResponders) throw new NatsNoRespondersException();
            JsonDocument answer = JsonDocument.Parse(reply.Data ?? []);
            if (!answer.RootElement.TryGetProperty("error", out JsonElement error))
                return answer;
            var failure = new NatsJSApiException(new ApiError
            {
                Code = error.GetProperty("code").GetInt32(),
                ErrCode = error.TryGetProperty("err_code", out JsonElement code) ? code.GetInt32() : 0,
                Description = error.TryGetProperty("description", out JsonElement description) ? description.GetString() : null,
            });
            answer.Dispose();
            if (failure.Error.ErrCode != ClusterUnavailableErrorCode) throw failure;
            unavailable = failure;
        }
        throw unavailable ?? (Exception)new TimeoutException($"no answer to {subject} within {timeout.TotalSeconds:F0} s");
    }
}
