namespace AnnServer.Storage;

/// <summary>
/// A range of the committed log that replay does not apply: it starts at a record that failed
/// its checks (<see cref="Reason"/>) and runs to the end of the committed log as it was when the
/// damage was found. Positions are FASTER log addresses (see docs/log-format.md).
/// </summary>
public sealed record LogDamage(long Position, long EndPosition, string Reason)
{
    /// <summary>Bytes of log not applied.</summary>
    public long Length => EndPosition - Position;
}
