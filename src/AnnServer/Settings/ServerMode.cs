namespace AnnServer.Settings;

/// <summary>What the process was asked to do (<see cref="ServerCommandLine"/>).</summary>
public enum ServerMode
{
    /// <summary>Run the server (the default).</summary>
    Serve,

    /// <summary><c>annserver healthcheck</c>: ask a running server on the configured port whether it is SERVING.</summary>
    HealthCheck,

    /// <summary><c>--help</c>: print the settings and exit.</summary>
    Help,
}
