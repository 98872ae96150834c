using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Logging;

namespace AnnServer.Security;

/// <summary>
/// Checks the caller's API key (<c>authorization: Bearer KEY</c> metadata) against the role the method requires
/// (<see cref="MethodRoles"/>) before the call reaches a service. No key, a malformed header and an unknown key all get
/// the same UNAUTHENTICATED answer, so a caller cannot tell a near miss from a wrong guess; a known key without the role
/// gets PERMISSION_DENIED naming the role required. Registered only when keys are configured.
/// Every kind of call is checked (streaming too), so that a streaming method added later is not left open by accident.
/// </summary>
public sealed class AuthorizationInterceptor(ApiKeySet keys, ILogger<AuthorizationInterceptor> logger) : Interceptor
{
    /// <summary>The one message for every authentication failure: it says how to authenticate, nothing about the key.</summary>
    public const string UnauthenticatedMessage = "a valid API key is required: send the metadata 'authorization: Bearer <key>'";

    private const string BearerPrefix = "Bearer ";

    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        Authorize(context);
        return continuation(request, context);
    }

    public override Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Authorize(context);
        return continuation(requestStream, context);
    }

    public override Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Authorize(context);
        return continuation(request, responseStream, context);
    }

    public override Task DuplexStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Authorize(context);
        return continuation(requestStream, responseStream, context);
    }

    private void Authorize(ServerCallContext context)
    {
        if (MethodRoles.For(context.Method) is not { } required)
            return;

        ApiKey? key = keys.Find(BearerToken(context.RequestHeaders.GetValue("authorization")));
        if (key is null)
        {
            logger.LogDebug("Refused {Method} from {Peer}: no valid API key", context.Method, context.Peer);
            throw new RpcException(new Status(StatusCode.Unauthenticated, UnauthenticatedMessage));
        }
        if (!key.Role.Includes(required))
        {
            logger.LogDebug("Refused {Method} from {Peer}: key {Key} has role {Role}", context.Method, context.Peer, key.Name, key.Role.Name());
            throw new RpcException(new Status(StatusCode.PermissionDenied,
                $"{MethodName(context.Method)} requires the '{required.Name()}' role; this API key has the '{key.Role.Name()}' role"));
        }
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
