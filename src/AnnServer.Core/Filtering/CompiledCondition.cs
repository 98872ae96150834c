using System.Runtime.InteropServices;
using AnnServer.Core.Payloads;

namespace AnnServer.Core.Filtering;

/// <summary>
/// One condition of a compiled filter, an instruction of a branch program: test <see cref="Op"/> on a node, then go to
/// <see cref="OnTrue"/> or <see cref="OnFalse"/> (the next instruction, or <see cref="Accept"/> / <see cref="Reject"/>).
/// Everything a test needs was resolved at compile time: the column, keyword codes, sorted values, inclusive bounds.
/// </summary>
[StructLayout(LayoutKind.Auto)]
internal struct CompiledCondition
{
    public const int Accept = -1;
    public const int Reject = -2;

    public ConditionOp Op;
    public bool Bool;
    public int OnTrue;
    public int OnFalse;

    /// <summary>The column tested, of the concrete type <see cref="Op"/> names (null for ids, labels, never, always).</summary>
    public PayloadColumn? Column;

    /// <summary>Sorted keyword codes, or sorted labels.</summary>
    public int[]? Codes;

    /// <summary>Sorted int64 values, or sorted ids (of has-id, or of an id set).</summary>
    public long[]? Values;

    /// <summary>A stored id set's bits over the index's nodes, right for nodes below <see cref="Covered"/>.</summary>
    public ulong[]? Bits;
    public int Covered;

    /// <summary>Inclusive int64 bounds.</summary>
    public long Low, High;

    /// <summary>Inclusive double bounds.</summary>
    public double LowDouble, HighDouble;

    /// <summary>The planner's estimate of the fraction of live points passing this condition alone.</summary>
    public double Selectivity;
}
