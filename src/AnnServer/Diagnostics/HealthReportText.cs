using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace AnnServer.Diagnostics;

/// <summary>
/// The body of /healthz: the overall status alone ("Healthy", as ASP.NET writes it) when every check is healthy;
/// otherwise the status on the first line and one line per check that is not, with its description (which collections
/// are loading or failed, and why), so that a person or a probe log sees the reason without another call.
/// </summary>
public static class HealthReportText
{
    public static Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "text/plain; charset=utf-8";
        var text = new System.Text.StringBuilder(report.Status.ToString());
        foreach (var (name, entry) in report.Entries)
            if (entry.Status != HealthStatus.Healthy)
                text.Append('\n').Append(name).Append(": ").Append(entry.Status).Append(": ").Append(entry.Description);
        return context.Response.WriteAsync(text.ToString());
    }
}
