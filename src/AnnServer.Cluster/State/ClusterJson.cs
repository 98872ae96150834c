using System.Text.Json;
using System.Text.Json.Serialization;

namespace AnnServer.Cluster.State;

/// <summary>
/// The JSON of the cluster state's values: camelCase properties, enums as names ("cosine"), so that an operator can read
/// them with <c>nats kv get ann-cluster collections.x</c>. Values travel as raw bytes; the serializer is ours, not the
/// NATS client's, so the format does not depend on the client's serializer registry.
/// </summary>
public static class ClusterJson
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    public static byte[] Serialize<T>(T value) => JsonSerializer.SerializeToUtf8Bytes(value, Options);

    /// <summary>The value, or null when the bytes are not valid JSON of <typeparamref name="T"/> (a value written by
    /// a newer or broken node is skipped, not fatal).</summary>
    public static T? TryDeserialize<T>(ReadOnlySpan<byte> json) where T : class
    {
        try
        {
            return JsonSerializer.Deserialize<T>(json, Options);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
