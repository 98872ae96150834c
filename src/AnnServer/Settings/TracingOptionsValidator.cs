using Microsoft.Extensions.Options;

namespace AnnServer.Settings;

/// <summary>Checks <see cref="TracingOptions"/> when the server starts. Each failure names the option as it is typed.</summary>
public sealed class TracingOptionsValidator : IValidateOptions<TracingOptions>
{
    public ValidateOptionsResult Validate(string? name, TracingOptions options)
    {
        var failures = new ValidateOptionsResultBuilder();
        if (options.OtlpEndpoint is { } endpoint
            && !(Uri.TryCreate(endpoint, UriKind.Absolute, out Uri? uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)))
            failures.AddError($"--otlp-endpoint must be an http:// or https:// URL (an OTLP/gRPC collector, e.g. http://localhost:4317), got '{endpoint}'");
        if (!(options.TraceSampleRatio >= 0 && options.TraceSampleRatio <= 1))
            failures.AddError($"--trace-sample-ratio must be between 0 and 1, got {options.TraceSampleRatio}");
        if (string.IsNullOrWhiteSpace(options.TraceServiceName))
            failures.AddError("--trace-service-name must not be empty");
        return failures.Build();
    }
}
