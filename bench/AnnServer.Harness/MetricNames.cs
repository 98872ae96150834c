using AnnServer.Core;

namespace AnnServer.Harness;

/// <summary>The metric names used on the command line and in the JSON: l2, ip, cosine.</summary>
public static class MetricNames
{
    public static string Format(DistanceMetric metric) => metric switch
    {
        DistanceMetric.L2 => "l2",
        DistanceMetric.InnerProduct => "ip",
        DistanceMetric.Cosine => "cosine",
        _ => metric.ToString().ToLowerInvariant(),
    };

    public static bool TryParse(string? text, out DistanceMetric metric)
    {
        switch (text?.Trim().ToLowerInvariant())
        {
            case "l2" or "euclidean": metric = DistanceMetric.L2; return true;
            case "ip" or "dot" or "inner-product": metric = DistanceMetric.InnerProduct; return true;
            case "cosine" or "angular": metric = DistanceMetric.Cosine; return true;
            default: metric = default; return false;
        }
    }
}
