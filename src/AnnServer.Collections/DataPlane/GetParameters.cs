namespace AnnServer.Collections;

/// <summary>How a Get is read: the most bytes its answer may weigh (see <see cref="GetAnswerSize"/>), and the read's
/// consistency.</summary>
public readonly record struct GetParameters(long MaxAnswerBytes, ReadOptions Read);
