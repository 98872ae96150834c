using System.Reflection;
using AnnServer.Core;

namespace AnnServer.Cluster.State;

/// <summary>
/// What a node can serve beyond what every version of cluster mode serves, as it announces it in its
/// <see cref="NodeEntry.Capabilities"/>: one dotted name per feature ("quantization.int4"), so that a later feature is
/// one more name and an older node, which announces none of them, is known not to have it. The coordinator places a
/// replica only on a node announcing what the collection needs (docs/cluster.md, "Upgrading"). The names are part of the
/// cluster state's format: never rename one.
/// </summary>
public static class NodeCapabilities
{
    /// <summary>Reads int4 collection specs and serves their replicas. Nodes of earlier versions cannot read such a spec
    /// at all (ClusterCollectionSpec.Int8Quantization), so a replica assigned to them is never started.</summary>
    public const string QuantizationInt4 = "quantization.int4";

    /// <summary>What a node of this version announces.</summary>
    public static IReadOnlyList<string> OfThisVersion { get; } = [QuantizationInt4];

    /// <summary>This build's version (the assembly's informational version, with the commit when the build knew it), for
    /// operators: placement goes by the capabilities, never by this.</summary>
    public static string ProductVersion { get; } =
        typeof(NodeCapabilities).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    /// <summary>The capability a node needs to hold a replica of a collection quantized so; null when every node can.</summary>
    public static string? NeededFor(VectorQuantization quantization) => quantization switch
    {
        VectorQuantization.Int4 => QuantizationInt4,
        _ => null,
    };

    /// <summary>What a capability lets a node serve, for messages an operator reads.</summary>
    public static string Describe(string capability) => capability switch
    {
        QuantizationInt4 => "int4",
        _ => capability,
    };
}
