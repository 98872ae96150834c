namespace AnnServer.Cluster.State;

/// <summary>What a node does in the cluster (<c>--cluster-role</c>). Written into its node entry as "all", "replica" or
/// "router", so the names are part of the cluster state's format.</summary>
public enum ClusterRole
{
    /// <summary>Holds replicas and routes searches (the default).</summary>
    All = 0,

    /// <summary>Holds replicas; does not route searches on cluster collections.</summary>
    Replica = 1,

    /// <summary>Routes searches and writes; is never assigned a replica.</summary>
    Router = 2,
}

public static class ClusterRoles
{
    /// <summary>The name in the node entry and on the command line.</summary>
    public static string Name(this ClusterRole role) => role switch
    {
        ClusterRole.Replica => "replica",
        ClusterRole.Router => "router",
        _ => "all",
    };

    public static bool HoldsReplicas(string role) => role is "all" or "replica";

    public static bool HoldsReplicas(this ClusterRole role) => role is ClusterRole.All or ClusterRole.Replica;

    public static bool Routes(this ClusterRole role) => role is ClusterRole.All or ClusterRole.Router;
}
