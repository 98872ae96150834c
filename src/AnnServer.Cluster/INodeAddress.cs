namespace AnnServer.Cluster;

/// <summary>The gRPC address a node announces to the cluster unless --advertise-address says otherwise: the host knows
/// it (scheme, listening host, the port Kestrel bound), the cluster only announces it.</summary>
public interface INodeAddress
{
    /// <summary>E.g. http://10.0.0.7:50051. Read once the server listens.</summary>
    string GrpcAddress { get; }
}
