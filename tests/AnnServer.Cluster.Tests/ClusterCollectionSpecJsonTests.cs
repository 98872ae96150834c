using System.Text;
using System.Text.Json.Nodes;
using AnnServer.Cluster.State;
using AnnServer.Core;

namespace AnnServer.Cluster.Tests;

/// <summary>
/// The spec's JSON in the state bucket is read by nodes of other versions during a rolling upgrade: a spec written
/// before <c>quantization</c> (only <c>int8Quantization</c>) still reads as it was meant, and a node of that earlier
/// version (<see cref="SpecBeforeQuantization"/>, read with the same serializer) reads int8 and none specs as before
/// and cannot read an int4 one at all, so it skips it rather than serving it as float32.
/// </summary>
public sealed class ClusterCollectionSpecJsonTests
{
    /// <summary>A spec as a node before <c>quantization</c> wrote it (an int8 collection, every field then known).</summary>
    private const string Int8SpecBeforeQuantization = """
        {"name":"items","dimension":128,"metric":"cosine","m":16,"efConstruction":200,"int8Quantization":true,"shards":3,
        "replicasPerShard":2,"streamReplicas":3,"shardReplicaNodeIds":[["a","b"],["b","c"],["c","a"]],
        "createdUnixMs":1765000000000,"seededFromSnapshot":false,"linkedFields":["color"]}
        """;

    /// <summary>The same, from before <c>seededFromSnapshot</c> and <c>linkedFields</c>, and float32.</summary>
    private const string FloatSpecBeforeQuantization = """
        {"name":"plain","dimension":4,"metric":"l2","m":8,"efConstruction":32,"int8Quantization":false,"shards":1,
        "replicasPerShard":1,"streamReplicas":1,"shardReplicaNodeIds":[["a"]],"createdUnixMs":1}
        """;

    /// <summary>The record of the version before <c>quantization</c>, field for field.</summary>
    private sealed record SpecBeforeQuantization(string Name, int Dimension, DistanceMetric Metric, int M, int EfConstruction,
        bool Int8Quantization, int Shards, int ReplicasPerShard, int StreamReplicas, IReadOnlyList<IReadOnlyList<string>> ShardReplicaNodeIds,
        long CreatedUnixMs, bool SeededFromSnapshot = false, IReadOnlyList<string>? LinkedFields = null);

    private static ClusterCollectionSpec Spec(VectorQuantization quantization) =>
        new("items", 128, DistanceMetric.Cosine, 16, 200, quantization, 3, 2, 3, [["a", "b"], ["b", "c"], ["c", "a"]],
            1765000000000, SeededFromSnapshot: true, LinkedFields: ["color"]);

    [Theory]
    [InlineData(VectorQuantization.None)]
    [InlineData(VectorQuantization.Int8)]
    [InlineData(VectorQuantization.Int4)]
    public void EveryQuantizationRoundTrips(VectorQuantization quantization)
    {
        ClusterCollectionSpec spec = Spec(quantization);

        ClusterCollectionSpec read = ClusterJson.TryDeserialize<ClusterCollectionSpec>(ClusterJson.Serialize(spec))!;

        Assert.Equal(quantization, read.Quantization);
        Assert.Equal(ClusterJson.Serialize(spec), ClusterJson.Serialize(read));
        Assert.Equal(spec.ShardReplicaNodeIds.Select(r => r.ToArray()), read.ShardReplicaNodeIds.Select(r => r.ToArray()));
        Assert.Equal(spec with { ShardReplicaNodeIds = read.ShardReplicaNodeIds, LinkedFields = read.LinkedFields }, read);
    }

    [Theory]
    [InlineData(VectorQuantization.None, "none", false)]
    [InlineData(VectorQuantization.Int8, "int8", true)]
    [InlineData(VectorQuantization.Int4, "int4", null)]
    public void TheQuantizationIsWrittenByNameBesideTheFieldOlderNodesRead(VectorQuantization quantization, string name, bool? int8)
    {
        JsonObject json = JsonNode.Parse(ClusterJson.Serialize(Spec(quantization)))!.AsObject();

        Assert.Equal(name, json["quantization"]!.GetValue<string>());
        Assert.True(json.ContainsKey("int8Quantization"));
        Assert.Equal(int8, json["int8Quantization"]?.GetValue<bool>());
    }

    [Fact]
    public void AnInt8SpecWrittenBeforeQuantizationReadsAsInt8()
    {
        ClusterCollectionSpec spec = ClusterJson.TryDeserialize<ClusterCollectionSpec>(Encoding.UTF8.GetBytes(Int8SpecBeforeQuantization))!;

        Assert.Equal(VectorQuantization.Int8, spec.Quantization);
        Assert.Equal(("items", 128, DistanceMetric.Cosine, 16, 200, 3, 2, 3, 1765000000000L),
            (spec.Name, spec.Dimension, spec.Metric, spec.M, spec.EfConstruction, spec.Shards, spec.ReplicasPerShard, spec.StreamReplicas, spec.CreatedUnixMs));
        Assert.Equal([["a", "b"], ["b", "c"], ["c", "a"]], spec.ShardReplicaNodeIds.Select(r => r.ToArray()));
        Assert.Equal(["color"], spec.LinkedFields!);
    }

    [Fact]
    public void AFloat32SpecWrittenBeforeQuantizationAndSeedingReadsAsFloat32()
    {
        ClusterCollectionSpec spec = ClusterJson.TryDeserialize<ClusterCollectionSpec>(Encoding.UTF8.GetBytes(FloatSpecBeforeQuantization))!;

        Assert.Equal(VectorQuantization.None, spec.Quantization);
        Assert.False(spec.SeededFromSnapshot);
        Assert.Null(spec.LinkedFields);
    }

    [Theory]
    [InlineData(VectorQuantization.None, false)]
    [InlineData(VectorQuantization.Int8, true)]
    public void ANodeBeforeQuantizationReadsNoneAndInt8SpecsAsBefore(VectorQuantization quantization, bool int8)
    {
        SpecBeforeQuantization? old = ClusterJson.TryDeserialize<SpecBeforeQuantization>(ClusterJson.Serialize(Spec(quantization)));

        Assert.NotNull(old);
        Assert.Equal(int8, old.Int8Quantization);
        Assert.Equal(["color"], old.LinkedFields!);
    }

    [Fact]
    public void ANodeBeforeQuantizationCannotReadAnInt4SpecSoItSkipsIt()
    {
        Assert.Null(ClusterJson.TryDeserialize<SpecBeforeQuantization>(ClusterJson.Serialize(Spec(VectorQuantization.Int4))));
    }

    [Fact]
    public void AnOldNodesRewriteOfAnInt8SpecKeepsItInt8()
    {
        // A compare-and-set change by an older node (AssignReplica) writes its record back without "quantization".
        SpecBeforeQuantization old = ClusterJson.TryDeserialize<SpecBeforeQuantization>(ClusterJson.Serialize(Spec(VectorQuantization.Int8)))!;

        ClusterCollectionSpec read = ClusterJson.TryDeserialize<ClusterCollectionSpec>(ClusterJson.Serialize(old with { ShardReplicaNodeIds = [["a", "b", "c"], ["b", "c"], ["c", "a"]] }))!;

        Assert.Equal(VectorQuantization.Int8, read.Quantization);
    }

    [Fact]
    public void AQuantizationThisVersionDoesNotKnowMakesTheSpecUnreadable()
    {
        // A later mode, written as a later version would write it: its name, and int8Quantization null.
        string later = Int8SpecBeforeQuantization.Replace("\"int8Quantization\":true", "\"quantization\":\"binary\",\"int8Quantization\":null");

        Assert.Null(ClusterJson.TryDeserialize<ClusterCollectionSpec>(Encoding.UTF8.GetBytes(later)));
    }
}
