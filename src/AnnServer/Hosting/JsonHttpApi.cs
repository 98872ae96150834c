using Grpc.AspNetCore.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.OpenApi.Models;

namespace AnnServer.Hosting;

/// <summary>
/// JSON over HTTP: the gRPC services transcoded (Microsoft.AspNetCore.Grpc.JsonTranscoding) by the google.api.http
/// annotations of protos/ann/v1, and their OpenAPI document (Microsoft.AspNetCore.Grpc.Swagger). A transcoded call runs
/// through the same middleware, interceptors and service methods as a gRPC one: the same API keys and roles, limits,
/// validation and error statuses (as HTTP statuses, the message in a google.rpc.Status body). docs/api.md, "JSON over
/// HTTP", lists the paths.
/// </summary>
public static class JsonHttpApi
{
    /// <summary>Where the OpenAPI documents are served; open to every caller, like gRPC reflection.</summary>
    public const string OpenApiDocumentPrefix = "/openapi/";

    /// <summary>The OpenAPI document of the API.</summary>
    public const string OpenApiDocumentPath = OpenApiDocumentPrefix + DocumentName + ".json";

    private const string DocumentName = "v1";

    public static void AddJsonHttpApi(this IGrpcServerBuilder grpc)
    {
        grpc.AddJsonTranscoding();
        grpc.Services.AddGrpcSwagger();
        grpc.Services.AddSwaggerGen(openApi =>
        {
            openApi.SwaggerDoc(DocumentName, new OpenApiInfo
            {
                Title = "AnnServer",
                Version = DocumentName,
                Description = "The ann.v1 gRPC API as JSON over HTTP. "
                    + "Errors: the HTTP status of the gRPC code and a body {\"code\", \"message\", \"details\"}.",
            });
            var bearer = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                Description = "An API key of the server (needed only when it has keys): authorization: Bearer KEY",
                Reference = new OpenApiReference { Type = ReferenceType.SecurityScheme, Id = "apiKey" },
            };
            // The .proto comments (AnnServer.Protocol's XML docs, copied beside the server) describe the paths and fields.
            string protoComments = Path.Combine(AppContext.BaseDirectory, "AnnServer.Protocol.xml");
            if (File.Exists(protoComments))
            {
                openApi.IncludeXmlComments(protoComments);
                openApi.IncludeGrpcXmlComments(protoComments, includeControllerXmlComments: true);
            }
            openApi.AddSecurityDefinition("apiKey", bearer);
            openApi.AddSecurityRequirement(new OpenApiSecurityRequirement { [bearer] = [] });
        });
    }

    /// <summary>Only requests under <see cref="OpenApiDocumentPrefix"/> meet Swashbuckle's middleware: it resolves its
    /// document provider from the request's services on every request it sees (a perf profile at 8 unary callers showed
    /// Grpc.Swagger's service factories and DI lookups under every gRPC call).</summary>
    public static void UseOpenApiDocument(this WebApplication app) =>
        app.UseWhen(context => context.Request.Path.StartsWithSegments(OpenApiDocumentPrefix.TrimEnd('/')),
            openApi => openApi.UseSwagger(swagger => swagger.RouteTemplate = OpenApiDocumentPrefix.TrimStart('/') + "{documentName}.json"));
}
