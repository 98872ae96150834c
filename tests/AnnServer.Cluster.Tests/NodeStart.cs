namespace AnnServer.Cluster.Tests;

/// <summary>How <see cref="LocalCluster.StartAsync"/> starts its nodes on a fresh JetStream.</summary>
public enum NodeStart
{
    /// <summary>node-0 alone until it serves (it creates the cluster state buckets), then the others together. Debian's
    /// nats-server 2.9 loses the replies to concurrent creates of one stream (nats-io/nats-server#3677): nodes started
    /// together each wait out one or two 5 s JetStream request timeouts before their retry finds the buckets (the
    /// shared 3-node cluster took 18 s to start together, 11-14 s this way, on a 2-core machine).</summary>
    FirstNodeAlone,

    /// <summary>Every node at once, as a Kubernetes StatefulSet with parallel pod management starts them: the nodes race
    /// to create the state buckets, and ClusterCoordinator.OpenAsync's retries must bring every one of them up.</summary>
    AllAtOnce,
}
