using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using System.IO.Pipelines;
using AnnServer.Diagnostics;
using AnnServer.Settings;
using Grpc.AspNetCore.Server;
using Grpc.Core;
using Microsoft.AspNetCore.Http;

namespace AnnServer.Limits;

/// <summary>
/// Refuses a unary call whose request message is larger than --max-message-bytes with RESOURCE_EXHAUSTED naming the
/// limit, after reading only the message's 5-byte gRPC prefix (a flag and the length). gRPC would refuse it too, but
/// with a message that names no limit; and Kestrel's own body limit, which <see cref="Hosting.AnnServerHost"/> sets to
/// the same size plus that prefix, would otherwise end the call with UNKNOWN. The prefix is peeked, not consumed: gRPC
/// reads the same bytes again. Streaming calls pass untouched (gRPC checks each of their messages against the same
/// limit), as does a body shorter than a prefix (gRPC says what is wrong with it).
/// </summary>
public sealed class MessageSizeMiddleware(RequestDelegate next, LimitOptions limits, ServerMetrics metrics)
{
    /// <summary>The gRPC length prefix of every message: a compressed flag, then the length as a big-endian uint32.</summary>
    public const int PrefixBytes = 5;

    /// <summary>Not async when the prefix has arrived with the headers (it has, for a small unary call) and fits: the
    /// call goes on to gRPC without an async state machine of this middleware around it (this runs on every call).</summary>
    public Task InvokeAsync(HttpContext context)
    {
        if (context.GetEndpoint()?.Metadata.GetMetadata<GrpcMethodMetadata>() is not { Method.Type: MethodType.Unary })
            return next(context);

        long start = Stopwatch.GetTimestamp();
        if (JsonStatusResponse.IsJsonCall(context))
        {
            // JSON over HTTP has no prefix: its body is the message, in JSON, held to the same limit. A body sent without
            // a Content-Length meets Kestrel's limit of the same size instead.
            if (context.Request.ContentLength > limits.MaxMessageBytes)
                return RefuseJsonAsync(context, start,
                    $"the request body is {context.Request.ContentLength} bytes, more than the server's --max-message-bytes ({limits.MaxMessageBytes})");
            return next(context);
        }
        PipeReader body = context.Request.BodyReader;
        ValueTask<ReadResult> reading;
        try
        {
            reading = body.ReadAtLeastAsync(PrefixBytes, context.RequestAborted);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            RefuseTooLarge(context, start);
            return Task.CompletedTask;
        }
        if (!reading.IsCompletedSuccessfully)
            return InvokeWhenPrefixReadAsync(reading, context, start);
        return Continue(MessageLength(body, reading.Result), context, start);
    }

    private async Task InvokeWhenPrefixReadAsync(ValueTask<ReadResult> reading, HttpContext context, long start)
    {
        ReadResult read;
        try
        {
            read = await reading.ConfigureAwait(false);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            RefuseTooLarge(context, start);
            return;
        }
        await Continue(MessageLength(context.Request.BodyReader, read), context, start).ConfigureAwait(false);
    }

    private Task Continue(long length, HttpContext context, long start)
    {
        if (length <= limits.MaxMessageBytes)
            return next(context);
        Refuse(context, start, $"the request message is {length} bytes, more than the server's --max-message-bytes ({limits.MaxMessageBytes})");
        return Task.CompletedTask;
    }

    // A content-length header over Kestrel's limit: refused on the first read.
    private void RefuseTooLarge(HttpContext context, long start) =>
        Refuse(context, start, $"the request is larger than the server's --max-message-bytes ({limits.MaxMessageBytes})");

    /// <summary>The length in the first message's prefix, or −1 when the body ended before one; consumes nothing, so
    /// that gRPC reads the same bytes again.</summary>
    private static long MessageLength(PipeReader body, ReadResult read)
    {
        ReadOnlySequence<byte> buffer = read.Buffer;
        long length = buffer.Length >= PrefixBytes ? Length(buffer) : -1;
        body.AdvanceTo(buffer.Start);
        return length;
    }

    private static long Length(ReadOnlySequence<byte> buffer)
    {
        Span<byte> prefix = stackalloc byte[PrefixBytes];
        buffer.Slice(0, PrefixBytes).CopyTo(prefix);
        return BinaryPrimitives.ReadUInt32BigEndian(prefix[1..]);
    }

    private Task RefuseJsonAsync(HttpContext context, long start, string message)
    {
        metrics.RecordCall(context.GetEndpoint()?.Metadata.GetMetadata<GrpcMethodMetadata>()?.Method.FullName ?? "",
            StatusCode.ResourceExhausted, Stopwatch.GetElapsedTime(start));
        return JsonStatusResponse.WriteAsync(context, StatusCode.ResourceExhausted, message);
    }

    private void Refuse(HttpContext context, long start, string message)
    {
        GrpcStatusResponse.Write(context, StatusCode.ResourceExhausted, message);
        metrics.RecordCall(context.Request.Path.Value ?? "", StatusCode.ResourceExhausted, Stopwatch.GetElapsedTime(start));
    }
}
