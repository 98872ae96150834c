using System.Globalization;
using Grpc.Core;
using Microsoft.AspNetCore.Http;

namespace AnnServer.Diagnostics;

/// <summary>
/// Answers a gRPC call from a middleware, before any service sees it: a "trailers-only" response (HTTP 200, the status
/// in the headers, no message), which every gRPC client reads as the call's status. The request body is left unread;
/// Kestrel resets the rest of the stream once the response is sent.
/// </summary>
public static class GrpcStatusResponse
{
    public static void Write(HttpContext context, StatusCode status, string message)
    {
        HttpResponse response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/grpc";
        response.Headers["grpc-status"] = ((int)status).ToString(CultureInfo.InvariantCulture);
        // grpc-message is percent-encoded (the gRPC HTTP/2 protocol); clients decode any %XX.
        response.Headers["grpc-message"] = Uri.EscapeDataString(message);
    }
}
