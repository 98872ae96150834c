namespace AnnServer.Collections;

/// <summary>How a search is run: k hits per query (1 ≤ k ≤ ef), the graph walk's ef, and the read's consistency.</summary>
public readonly record struct SearchParameters(int K, int Ef, ReadOptions Read);
