using System.Text.Json;
using Grpc.Core;
using Microsoft.AspNetCore.Http;

namespace AnnServer.Diagnostics;

/// <summary>
/// Answers a JSON-over-HTTP call from a middleware, before any service sees it, the way JSON transcoding answers an
/// error from a service: the HTTP status of the gRPC code (google.rpc.Code's mapping, the one the transcoder uses) and
/// a google.rpc.Status body, <c>{"code": 16, "message": "...", "details": []}</c>, so a client reads every error alike.
/// </summary>
public static class JsonStatusResponse
{
    /// <summary>Whether the call is a JSON-over-HTTP one (transcoded), not a gRPC one: gRPC always sends its content type.</summary>
    public static bool IsJsonCall(HttpContext context) =>
        context.Request.ContentType?.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase) != true;

    public static Task WriteAsync(HttpContext context, StatusCode status, string message)
    {
        HttpResponse response = context.Response;
        response.StatusCode = HttpStatusOf(status);
        response.ContentType = "application/json; charset=utf-8";
        return JsonSerializer.SerializeAsync(response.Body, new ErrorBody((int)status, message, []), ErrorBodyContext.Default.ErrorBody);
    }

    /// <summary>The HTTP status of a gRPC code, as google/rpc/code.proto gives it.</summary>
    public static int HttpStatusOf(StatusCode status) => status switch
    {
        StatusCode.OK => StatusCodes.Status200OK,
        StatusCode.Cancelled => 499, // "client closed request"
        StatusCode.InvalidArgument or StatusCode.FailedPrecondition or StatusCode.OutOfRange => StatusCodes.Status400BadRequest,
        StatusCode.Unauthenticated => StatusCodes.Status401Unauthorized,
        StatusCode.PermissionDenied => StatusCodes.Status403Forbidden,
        StatusCode.NotFound => StatusCodes.Status404NotFound,
        StatusCode.AlreadyExists or StatusCode.Aborted => StatusCodes.Status409Conflict,
        StatusCode.ResourceExhausted => StatusCodes.Status429TooManyRequests,
        StatusCode.Unimplemented => StatusCodes.Status501NotImplemented,
        StatusCode.Unavailable => StatusCodes.Status503ServiceUnavailable,
        StatusCode.DeadlineExceeded => StatusCodes.Status504GatewayTimeout,
        _ => StatusCodes.Status500InternalServerError, // UNKNOWN, INTERNAL, DATA_LOSS
    };
}

/// <summary>google.rpc.Status in its JSON form.</summary>
internal sealed record ErrorBody(
    [property: System.Text.Json.Serialization.JsonPropertyName("code")] int Code,
    [property: System.Text.Json.Serialization.JsonPropertyName("message")] string Message,
    [property: System.Text.Json.Serialization.JsonPropertyName("details")] object[] Details);

[System.Text.Json.Serialization.JsonSerializable(typeof(ErrorBody))]
internal sealed partial class ErrorBodyContext : System.Text.Json.Serialization.JsonSerializerContext;
