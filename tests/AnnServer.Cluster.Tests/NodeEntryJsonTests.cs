using System.Text.Json.Nodes;
using AnnServer.Cluster.State;

namespace AnnServer.Cluster.Tests;

/// <summary>
/// The node entry's JSON in <c>ann-nodes</c> is read by nodes of other versions during a rolling upgrade: an entry of a
/// node from before <c>capabilities</c> reads as a node that announces none (so it gets no int4 replica), and a node of
/// that version (<see cref="NodeEntryBeforeCapabilities"/>, read with the same serializer) reads a new entry as before.
/// </summary>
public sealed class NodeEntryJsonTests
{
    /// <summary>An entry as a node before <c>capabilities</c> wrote it.</summary>
    private const string EntryBeforeCapabilities = """
        {"nodeId":"old","address":"http://10.0.0.7:50051","role":"all","startedUnixMs":1765000000000,"heartbeatUnixMs":1765000001000}
        """;

    /// <summary>The record of the version before <c>capabilities</c>, field for field.</summary>
    private sealed record NodeEntryBeforeCapabilities(string NodeId, string Address, string Role, long StartedUnixMs, long HeartbeatUnixMs);

    private static readonly NodeEntry Entry = new("new", "http://10.0.0.8:50051", "replica", 1765000000000, 1765000001000,
        NodeCapabilities.OfThisVersion, "1.2.3+abc");

    [Fact]
    public void AnEntryWithoutCapabilitiesReadsAsANodeThatAnnouncesNone()
    {
        NodeEntry read = ClusterJson.TryDeserialize<NodeEntry>(System.Text.Encoding.UTF8.GetBytes(EntryBeforeCapabilities))!;

        Assert.Equal(new NodeEntry("old", "http://10.0.0.7:50051", "all", 1765000000000, 1765000001000), read);
        Assert.Null(read.Capabilities);
        Assert.Null(read.Version);
        Assert.False(read.Announces(NodeCapabilities.QuantizationInt4));
    }

    [Fact]
    public void ANewEntryRoundTripsWithItsCapabilitiesAndVersion()
    {
        NodeEntry read = ClusterJson.TryDeserialize<NodeEntry>(ClusterJson.Serialize(Entry))!;

        Assert.Equal([NodeCapabilities.QuantizationInt4], read.Capabilities);
        Assert.Equal("1.2.3+abc", read.Version);
        Assert.True(read.Announces(NodeCapabilities.QuantizationInt4));
        Assert.Equal(ClusterJson.Serialize(Entry), ClusterJson.Serialize(read));
    }

    [Fact]
    public void TheCapabilitiesAreWrittenByNameForOperators()
    {
        JsonObject json = JsonNode.Parse(ClusterJson.Serialize(Entry))!.AsObject();

        Assert.Equal(["quantization.int4"], json["capabilities"]!.AsArray().Select(c => c!.GetValue<string>()));
        Assert.Equal("1.2.3+abc", json["version"]!.GetValue<string>());
    }

    [Fact]
    public void ANodeOfTheVersionBeforeCapabilitiesReadsANewEntryAsBefore()
    {
        NodeEntryBeforeCapabilities read = ClusterJson.TryDeserialize<NodeEntryBeforeCapabilities>(ClusterJson.Serialize(Entry))!;

        Assert.Equal(new NodeEntryBeforeCapabilities("new", "http://10.0.0.8:50051", "replica", 1765000000000, 1765000001000), read);
    }

    [Fact]
    public void ACapabilityThisVersionDoesNotKnowIsKeptAndAnnouncesNothingElse()
    {
        NodeEntry read = ClusterJson.TryDeserialize<NodeEntry>(ClusterJson.Serialize(Entry with { Capabilities = ["quantization.int2"] }))!;

        Assert.Equal(["quantization.int2"], read.Capabilities);
        Assert.False(read.Announces(NodeCapabilities.QuantizationInt4));
    }
}
