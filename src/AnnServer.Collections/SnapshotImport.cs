namespace AnnServer.Collections;

/// <summary>A snapshot file named on the command line (<c>--snapshot NAME=PATH</c>) to serve as collection NAME.</summary>
public sealed record SnapshotImport(string Name, string Path);
