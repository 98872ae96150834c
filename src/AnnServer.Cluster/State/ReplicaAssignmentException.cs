namespace AnnServer.Cluster.State;

/// <summary>An AssignReplica of a node that holds the replica already (ALREADY_EXISTS), or a RemoveReplica of one that
/// does not (NOT_FOUND).</summary>
public sealed class ReplicaAssignmentException(ReplicaAssignmentProblem problem, string message) : Exception(message)
{
    public ReplicaAssignmentProblem Problem { get; } = problem;
}

public enum ReplicaAssignmentProblem
{
    AlreadyAssigned,
    NotAssigned,
}
