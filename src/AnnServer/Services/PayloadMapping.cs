using AnnServer.Collections;
using AnnServer.Core.Payloads;
using Google.Protobuf;
using Google.Protobuf.Collections;
using Grpc.Core;
using ProtoValue = AnnServer.Protocol.V1.PayloadValue;

namespace AnnServer.Services;

/// <summary>Payloads between their messages (<see cref="ProtoValue"/> maps) and the engine's <see cref="Payload"/>, and
/// the payload selection of a read.</summary>
internal static class PayloadMapping
{
    /// <summary>
    /// The payload of a message, checked for size (--max-payload-bytes: RESOURCE_EXHAUSTED) and for values that name no
    /// kind; null when the map is empty. Limits of the engine (fields, names, keyword and list lengths, NaN) and the
    /// fields' kinds are checked by the collection, whose messages <paramref name="where"/> does not need.
    /// </summary>
    /// <param name="where">names the map in messages: <c>points[3].payload</c>.</param>
    public static Payload? ToPayload(MapField<string, ProtoValue> map, string where, int maxPayloadBytes)
    {
        if (map.Count == 0) return null;
        long bytes = MessageBytes(map);
        if (bytes > maxPayloadBytes)
            throw new RpcException(new Status(StatusCode.ResourceExhausted,
                $"{where} is {bytes} bytes, more than the server's --max-payload-bytes ({maxPayloadBytes})"));
        var payload = new Payload();
        foreach (var (name, value) in map)
            payload.Add(name, ToValue(value, $"{where}['{name}']"));
        return payload;
    }

    /// <summary>The bytes of a payload map in its message (each entry's key, value and framing).</summary>
    public static long MessageBytes(MapField<string, ProtoValue> map)
    {
        long bytes = 0;
        foreach (var (name, value) in map)
            bytes += CodedOutputStream.ComputeStringSize(name) + CodedOutputStream.ComputeMessageSize(value) + 2;
        return bytes;
    }

    private static PayloadValue ToValue(ProtoValue value, string where) => value.KindCase switch
    {
        ProtoValue.KindOneofCase.Keyword => PayloadValue.Keyword(value.Keyword),
        ProtoValue.KindOneofCase.KeywordList => PayloadValue.Keywords([.. value.KeywordList.Values]),
        ProtoValue.KindOneofCase.Integer => PayloadValue.Int64(value.Integer),
        ProtoValue.KindOneofCase.IntegerList => PayloadValue.Int64s([.. value.IntegerList.Values]),
        ProtoValue.KindOneofCase.DoubleValue => PayloadValue.Double(value.DoubleValue),
        ProtoValue.KindOneofCase.Boolean => PayloadValue.Bool(value.Boolean),
        _ => throw RequestValidation.Invalid(
            $"{where} has no value: set one of keyword, keyword_list, integer, integer_list, double_value, boolean"),
    };

    public static ProtoValue ToProto(PayloadValue value)
    {
        switch (value.Kind)
        {
            case PayloadKind.Keyword:
                return new ProtoValue { Keyword = value.AsKeyword() };
            case PayloadKind.KeywordList:
                var keywords = new Protocol.V1.KeywordList();
                keywords.Values.Add(value.AsKeywords());
                return new ProtoValue { KeywordList = keywords };
            case PayloadKind.Int64:
                return new ProtoValue { Integer = value.AsInt64() };
            case PayloadKind.Int64List:
                var integers = new Protocol.V1.IntegerList();
                integers.Values.Add(value.AsInt64s());
                return new ProtoValue { IntegerList = integers };
            case PayloadKind.Double:
                return new ProtoValue { DoubleValue = value.AsDouble() };
            default:
                return new ProtoValue { Boolean = value.AsBool() };
        }
    }

    public static void AddTo(MapField<string, ProtoValue> target, Payload payload)
    {
        foreach (var (name, value) in payload)
            target[name] = ToProto(value);
    }

    /// <summary>The fields a read answers with: <paramref name="whenUnset"/> when the request leaves it unset.</summary>
    public static PayloadSelection ToSelection(Protocol.V1.PayloadSelector? selector, PayloadSelection whenUnset, string field)
    {
        switch (selector?.SelectorCase)
        {
            case Protocol.V1.PayloadSelector.SelectorOneofCase.All:
                return selector.All ? PayloadSelection.All : PayloadSelection.None;
            case Protocol.V1.PayloadSelector.SelectorOneofCase.Fields:
                RepeatedField<string> names = selector.Fields.Names;
                for (int i = 0; i < names.Count; i++)
                    if (names[i].Length == 0) throw RequestValidation.Invalid($"{field}.fields.names[{i}] is empty");
                return PayloadSelection.Only([.. names]);
            default:
                return whenUnset;
        }
    }
}
