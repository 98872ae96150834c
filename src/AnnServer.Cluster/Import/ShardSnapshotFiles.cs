using AnnServer.Collections;
using AnnServer.Core.Sharding;

namespace AnnServer.Cluster.Import;

/// <summary>
/// The files of one <c>ann-build build --shards S --output NAME.snap</c>, found in the import directory from the name
/// the build was given: <c>NAME.shard-{i}-of-{S}.snap</c> for i = 0..S-1 beside it (<see cref="ShardFileNames"/>, the
/// rule ann-build writes them by: the shard tag goes before the extension). With no shard file beside it, <c>NAME.snap</c> itself is
/// a one-shard build. Every file is resolved by <see cref="ImportDirectory.Resolve"/>, so none lies outside the folder.
/// </summary>
public sealed record ShardSnapshotFiles(IReadOnlyList<ShardSnapshotFile> Files)
{
    public int Shards => Files.Count;

    /// <summary>The build's files, in shard order.</summary>
    /// <exception cref="ArgumentException">a bad path (<see cref="ImportDirectory.Resolve"/>), or shard files of builds
    /// with different shard counts side by side.</exception>
    /// <exception cref="CollectionPreconditionException">a shard file is missing; the message names it.</exception>
    /// <exception cref="ImportFileNotFoundException">neither shard files nor the file itself.</exception>
    public static ShardSnapshotFiles Find(ImportDirectory importDirectory, string path)
    {
        if (string.IsNullOrEmpty(path))
            throw new ArgumentException("path is empty: name the snapshot file ann-build was given (--output), relative to the import directory", nameof(path));
        foreach (string segment in path.Split('/', '\\'))
            if (segment == "..")
                throw new ArgumentException($"path '{path}' contains '..': name a file inside the import directory {importDirectory.Root}", nameof(path));

        string relativeFolder = Path.GetDirectoryName(path) ?? "";
        string extension = Path.GetExtension(path);
        string stem = Path.GetFileNameWithoutExtension(path);
        string folder = Path.GetFullPath(Path.IsPathRooted(path) ? relativeFolder : Path.Combine(importDirectory.Root, relativeFolder));

        var found = new SortedDictionary<int, SortedDictionary<int, string>>();
        if (IsInsideOrRoot(importDirectory.Root, folder) && Directory.Exists(folder))
        {
            foreach (string candidate in Directory.EnumerateFiles(folder, stem + ".shard-*"))
            {
                string fileName = Path.GetFileName(candidate);
                if (!ShardFileNames.TryParse(path, fileName, out int shard, out int shards)) continue;
                if (!found.TryGetValue(shards, out SortedDictionary<int, string>? ofCount))
                    found[shards] = ofCount = [];
                ofCount[shard] = Path.Combine(relativeFolder, fileName);
            }
        }

        if (found.Count == 0)
        {
            string single;
            try
            {
                single = importDirectory.Resolve(path);
            }
            catch (ImportFileNotFoundException)
            {
                throw new ImportFileNotFoundException(
                    $"path '{path}': neither shard files {stem}.shard-I-of-S{extension} nor the file itself in the import directory {importDirectory.Root}");
            }
            return new ShardSnapshotFiles([new ShardSnapshotFile(0, path, single)]);
        }
        if (found.Count > 1)
            throw new ArgumentException(
                $"path '{path}': the import directory holds shard files of builds with different shard counts ({string.Join(", ", found.Keys.Select(s => $"of-{s}"))}): " +
                "keep the files of one build only", nameof(path));

        (int count, SortedDictionary<int, string> files) = found.First();
        var resolved = new List<ShardSnapshotFile>(count);
        for (int shard = 0; shard < count; shard++)
        {
            string name = ShardFileNames.For(path, shard, count);
            if (!files.TryGetValue(shard, out string? relative))
                throw new CollectionPreconditionException(
                    $"shard file '{name}' is missing from the import directory {importDirectory.Root}: a build of {count} shards needs all of " +
                    $"{stem}.shard-0-of-{count}{extension} to {stem}.shard-{count - 1}-of-{count}{extension} (found {files.Count})");
            resolved.Add(new ShardSnapshotFile(shard, relative, importDirectory.Resolve(relative)));
        }
        return new ShardSnapshotFiles(resolved);
    }

    private static bool IsInsideOrRoot(string root, string fullPath) =>
        fullPath == root || (fullPath.StartsWith(root, StringComparison.Ordinal) && fullPath.Length > root.Length && fullPath[root.Length] == Path.DirectorySeparatorChar);
}

/// <summary>One shard's file: its shard, its name as the client would write it (for messages), its real path.</summary>
public sealed record ShardSnapshotFile(int Shard, string Name, string RealPath);
