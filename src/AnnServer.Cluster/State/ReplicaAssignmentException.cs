namespace AnnServer.Cluster.State;

/// <summary>An AssignReplica of a node that holds the replica already (ALREADY_EXISTS) or cannot serve it
/// (FAILED_PRECONDITION), or a RemoveReplica of one that does not hold it (NOT_FOUND).</summary>
public sealed class ReplicaAssignmentException(ReplicaAssignmentProblem problem, string message) : Exception(message)
{
    public ReplicaAssignmentProblem Problem { get; } = problem;
}

public enum ReplicaAssignmentProblem
{
    AlreadyAssigned,
    NotAssigned,

    /// <summary>The node does not announce a capability the collection needs (<see cref="NodeCapabilities.NeededFor"/>):
    /// an older node, which would never start the replica.</summary>
    NodeLacksCapability,
}
