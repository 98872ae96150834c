namespace AnnServer.Collections;

/// <summary>A Get whose answer, measured as it grows, went over the limit at point <paramref name="point"/> (1-based):
/// INVALID_ARGUMENT, with the same words from one server and through a router.</summary>
public sealed class GetAnswerTooLargeException(long maxAnswerBytes, int point, int idCount) : ArgumentException(
    $"the answer to this Get would be over the server's --max-message-bytes ({maxAnswerBytes}) " +
    $"by point {point} of {idCount} ids (its points carry many labels): ask for fewer ids at a time");
