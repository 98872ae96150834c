namespace AnnServer.Build;

/// <summary>What <c>ann-build</c> returns to the shell.</summary>
public static class ExitCodes
{
    public const int Success = 0;

    /// <summary>The input could not be used (unreadable, malformed, invalid rows, mismatched ids...).</summary>
    public const int Failed = 1;

    /// <summary>The command line is wrong: unknown option, missing or out-of-range parameter.</summary>
    public const int Usage = 2;

    /// <summary><c>info</c> read the snapshot but some checksums do not hold.</summary>
    public const int ChecksumMismatch = 3;

    /// <summary>Stopped by Ctrl+C (128 + SIGINT, as shells report it).</summary>
    public const int Cancelled = 130;
}
