using Google.Protobuf.Collections;

namespace AnnServer.Protocol.V1;

/// <summary>
/// What a search request of every kind says about how its searches run and what each hit carries, under the same field
/// names: <see cref="SearchRequest"/>, <see cref="SearchBatchRequest"/> and <see cref="RecommendRequest"/>. The
/// generated classes take it on through the partial declarations below, so the host maps these fields in one place.
/// </summary>
public interface ISearchSettings
{
    int K { get; }
    RepeatedField<ShardSequence> MinSequences { get; }
    bool AllowPartial { get; }
    PayloadSelector WithPayload { get; }
    bool WithVector { get; }
    bool HasScoreThreshold { get; }
    float ScoreThreshold { get; }
    QuantizationParams Quantization { get; }
}

public sealed partial class SearchRequest : ISearchSettings;

public sealed partial class SearchBatchRequest : ISearchSettings;

public sealed partial class RecommendRequest : ISearchSettings;
