namespace AnnServer.Cluster.State;

/// <summary>The rule for node ids. A node id is a token of the state bucket's keys (<c>replicas.{c}.{s}.{nodeId}</c>)
/// and a key of its own in <c>ann-nodes</c>, so it may not contain '.', '*', '>' or spaces: ASCII letters, digits,
/// '-' and '_', 1 to 64 characters.</summary>
public static class ClusterNodeId
{
    public const int MaxLength = 64;

    /// <summary>Null when <paramref name="nodeId"/> is valid, otherwise what is wrong with it.</summary>
    public static string? Problem(string? nodeId)
    {
        if (string.IsNullOrEmpty(nodeId))
            return "is empty";
        if (nodeId.Length > MaxLength)
            return $"has {nodeId.Length} characters, at most {MaxLength} are allowed";
        foreach (char c in nodeId)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
                return $"'{nodeId}' contains '{c}': only ASCII letters, digits, '-' and '_' are allowed";
        }
        return null;
    }

    /// <summary>The default node id: the machine name (a Kubernetes pod name, e.g. annserver-0) with any character the
    /// rule forbids replaced by '-'.</summary>
    public static string FromMachineName(string machineName)
    {
        var id = new string(machineName.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '-').ToArray());
        if (id.Length > MaxLength) id = id[..MaxLength];
        return id.Length == 0 ? "node" : id;
    }
}
