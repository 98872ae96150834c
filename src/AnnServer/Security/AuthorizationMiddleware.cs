using System.Diagnostics;
using AnnServer.Diagnostics;
using Grpc.AspNetCore.Server;
using Grpc.Core;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace AnnServer.Security;

/// <summary>
/// Checks the caller's API key (<c>authorization: Bearer KEY</c> header) against the role the method requires
/// (<see cref="MethodRoles"/>, by the request's path) before anything of the request body is read: an unknown caller
/// cannot make the server read, buffer or parse a message, and learns nothing from a parser's error. No key, a
/// malformed header and an unknown key all get the same UNAUTHENTICATED answer, so a caller cannot tell a near miss from
/// a wrong guess; a known key without the role gets PERMISSION_DENIED naming the role required. Registered on the gRPC
/// branch only when keys are configured; every kind of call is checked (streaming too), and a path no service maps is
/// refused like an admin method, so a method added later is not left open by accident.
/// </summary>
public sealed class AuthorizationMiddleware(RequestDelegate next, ApiKeySet keys, ServerMetrics metrics, ILogger<AuthorizationMiddleware> logger)
{
    /// <summary>The one message for every authentication failure: it says how to authenticate, nothing about the key.</summary>
    public const string UnauthenticatedMessage = "a valid API key is required: send the metadata (or HTTP header) 'authorization: Bearer <key>'";

    private const string BearerPrefix = "Bearer ";

    public Task InvokeAsync(HttpContext context)
    {
        // A JSON-over-HTTP call's path is its REST path (/v1/collections/x/search); the route it matched names the gRPC
        // method it is transcoded to, so both kinds of call need the same role.
        string method = context.GetEndpoint()?.Metadata.GetMetadata<GrpcMethodMetadata>()?.Method.FullName
            ?? context.Request.Path.Value ?? "";
        if (MethodRoles.For(method) is not { } required)
            return next(context);

        long start = Stopwatch.GetTimestamp();
        ApiKey? key = keys.Find(BearerToken(context.Request.Headers.Authorization));
        if (key is null)
        {
            logger.LogDebug("Refused {Method} from {Peer}: no valid API key", method, context.Connection.RemoteIpAddress);
            return Refuse(context, method, start, StatusCode.Unauthenticated, UnauthenticatedMessage);
        }
        if (!key.Role.Includes(required))
        {
            logger.LogDebug("Refused {Method} from {Peer}: key {Key} has role {Role}", method, context.Connection.RemoteIpAddress, key.Name, key.Role.Name());
            return Refuse(context, method, start, StatusCode.PermissionDenied,
                $"{MethodName(method)} requires the '{required.Name()}' role; this API key has the '{key.Role.Name()}' role");
        }
        return next(context);
    }

    private Task Refuse(HttpContext context, string method, long start, StatusCode status, string message)
    {
        metrics.RecordCall(method, status, Stopwatch.GetElapsedTime(start));
        if (JsonStatusResponse.IsJsonCall(context))
            return JsonStatusResponse.WriteAsync(context, status, message);
        GrpcStatusResponse.Write(context, status, message);
        return Task.CompletedTask;
    }

    /// <summary>The key of "Bearer KEY" (the scheme in any case), or empty.</summary>
    private static ReadOnlySpan<char> BearerToken(string? header)
    {
        if (header is null || header.Length <= BearerPrefix.Length
            || !header.StartsWith(BearerPrefix, StringComparison.OrdinalIgnoreCase))
            return [];
        return header.AsSpan(BearerPrefix.Length).Trim();
    }

    private static string MethodName(string method) => method[(method.LastIndexOf('/') + 1)..];
}
