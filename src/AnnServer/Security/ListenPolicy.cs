using System.Net;
using AnnServer.Settings;

namespace AnnServer.Security;

/// <summary>
/// Without API keys the server answers anyone who can connect, so it only listens on a loopback address unless told
/// <c>--insecure</c> explicitly: a server started with the defaults, or with a wrong keys variable in a container,
/// never ends up open on the network by accident.
/// </summary>
public static class ListenPolicy
{
    /// <exception cref="ServerConfigurationException">no keys, a non-loopback host and no --insecure.</exception>
    public static void Validate(string host, SecurityOptions security, ApiKeySet keys)
    {
        if (keys.IsEmpty && !security.Insecure && !IsLoopback(host))
            throw new ServerConfigurationException(
                $"--host {host} is not a loopback address and no API keys are configured, so anyone who can reach it " +
                "could read and change every collection: give --api-keys-file FILE (or ANNSERVER_API_KEYS; annserver new-key ROLE " +
                "makes a key), or pass --insecure to serve without authentication");
    }

    /// <summary>True for localhost and addresses in 127.0.0.0/8 or ::1; false for "*" and every other address.</summary>
    public static bool IsLoopback(string host)
    {
        if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase))
            return true;
        return IPAddress.TryParse(host.Trim('[', ']'), out IPAddress? address) && IPAddress.IsLoopback(address);
    }
}
