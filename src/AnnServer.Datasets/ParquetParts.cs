namespace AnnServer.Datasets;

/// <summary>
/// The files of a Parquet input. A folder is read the way Spark writes one: every <c>*.parquet</c> file in it, in ordinal
/// name order (part-00000-…, part-00001-…); markers and side files (<c>_SUCCESS</c>, <c>_metadata</c>, <c>.part-….crc</c>)
/// are ignored, as are sub-folders.
/// </summary>
public static class ParquetParts
{
    public static IReadOnlyList<string> List(string path)
    {
        if (!Directory.Exists(path)) return [path];
        var parts = new List<string>();
        foreach (string file in Directory.EnumerateFiles(path))
        {
            string name = System.IO.Path.GetFileName(file);
            if (name.StartsWith('_') || name.StartsWith('.')) continue;
            if (name.EndsWith(".parquet", StringComparison.OrdinalIgnoreCase)) parts.Add(file);
        }
        parts.Sort(StringComparer.Ordinal);
        return parts;
    }
}
