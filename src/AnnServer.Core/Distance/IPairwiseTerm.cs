namespace AnnServer.Core.Distance;

/// <summary>
/// What a float kernel sums over each pair of elements <c>(a[i], b[i])</c>, at one element and at one vector of any
/// width: the operator of <see cref="PairwiseSum{TTerm}"/>, as TensorPrimitives' operator structs are of its loops.
/// Implemented by structs, so the loop is specialised for each and the term inlined into it.
/// </summary>
internal interface IPairwiseTerm
{
    /// <summary><paramref name="sum"/> plus the term for one pair of elements.</summary>
    static abstract float Accumulate(float sum, float a, float b);

    /// <summary><paramref name="sum"/> plus the terms of every lane.</summary>
    static abstract TVector Accumulate<TWidth, TVector>(TVector sum, TVector a, TVector b)
        where TWidth : ISimdWidth<TVector>
        where TVector : struct;

    /// <summary>
    /// <paramref name="sum"/> plus the terms of the lanes set in <paramref name="keep"/> only: the other lanes of
    /// <paramref name="a"/> and <paramref name="b"/> were already counted (the overlapping last block).
    /// </summary>
    static abstract TVector AccumulateLanes<TWidth, TVector>(TVector sum, TVector a, TVector b, TVector keep)
        where TWidth : ISimdWidth<TVector>
        where TVector : struct;
}
