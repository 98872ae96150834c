namespace AnnServer.Core.Filtering;

/// <summary>What a <see cref="CompiledCondition"/> tests: one case of the evaluator's switch per column layout.</summary>
internal enum ConditionOp : byte
{
    Never,
    Always,
    KeywordAnyOf,
    KeywordListAnyOf,
    Int64AnyOf,
    Int64ListAnyOf,
    Int64Range,
    Int64ListRange,
    DoubleRange,
    BoolIs,

    /// <summary>The field has a value (is-null compiles to this with its branches swapped).</summary>
    Present,

    /// <summary>The list field has a value that is not empty (is-empty on a list compiles to this, swapped).</summary>
    KeywordListNonEmpty,
    Int64ListNonEmpty,
    HasId,
    LabelsAnyOf,

    /// <summary>The node's bit in a stored id set's bitmap (its id, for nodes the bitmap does not cover yet).</summary>
    InIdSet,
}
