using AnnServer.Collections;
using AnnServer.Core.Payloads;
using Google.Protobuf.Collections;
using ProtoValue = AnnServer.Protocol.V1.PayloadValue;

namespace AnnServer.Cluster.Transport;

/// <summary>Payload values and selections between the domain and the messages of ShardService (the public API's
/// messages, reused): a replica's answer read back, a router's request written.</summary>
internal static class PayloadMessages
{
    /// <summary>A value of a replica's answer. A value of no kind comes only from a node of another version.</summary>
    public static PayloadValue ToValue(ProtoValue value) => value.KindCase switch
    {
        ProtoValue.KindOneofCase.Keyword => PayloadValue.Keyword(value.Keyword),
        ProtoValue.KindOneofCase.KeywordList => PayloadValue.Keywords([.. value.KeywordList.Values]),
        ProtoValue.KindOneofCase.Integer => PayloadValue.Int64(value.Integer),
        ProtoValue.KindOneofCase.IntegerList => PayloadValue.Int64s([.. value.IntegerList.Values]),
        ProtoValue.KindOneofCase.DoubleValue => PayloadValue.Double(value.DoubleValue),
        ProtoValue.KindOneofCase.Boolean => PayloadValue.Bool(value.Boolean),
        _ => throw new InconsistentAnswerException($"a replica answered a payload value of kind {value.KindCase}"),
    };

    /// <summary>The payload of a replica's point; null when it has none.</summary>
    public static Payload? ToPayload(MapField<string, ProtoValue> map)
    {
        if (map.Count == 0) return null;
        var payload = new Payload();
        foreach (var (name, value) in map) payload.Add(name, ToValue(value));
        return payload;
    }

    public static Protocol.V1.PayloadSelector ToProto(PayloadSelection selection)
    {
        if (selection.Fields is { } fields)
        {
            var names = new Protocol.V1.FieldNames();
            names.Names.Add(fields);
            return new Protocol.V1.PayloadSelector { Fields = names };
        }
        return new Protocol.V1.PayloadSelector { All = selection.IsAll };
    }
}
