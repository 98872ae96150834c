namespace AnnServer.Collections;

/// <summary>What a snapshot load (<see cref="SnapshotLoader"/>) is doing, in order.</summary>
public enum LoadStep
{
    /// <summary>An upload's bytes are arriving and being written to the data directory.</summary>
    Receiving,

    /// <summary>A file of the import directory is being copied into the data directory.</summary>
    Copying,

    /// <summary>The copy's checksums are being read (every byte of the file once).</summary>
    Verifying,

    /// <summary>The index is being built in memory from the verified file, and its log opened.</summary>
    Building,
}
