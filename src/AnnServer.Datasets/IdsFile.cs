using System.Globalization;

namespace AnnServer.Datasets;

/// <summary>
/// The ids of the points, one per row of the vector file, in the same order. Two forms:
/// a NumPy .npy file holding a 1-D int64 (or int32) array, chosen by the .npy extension;
/// otherwise a text file with one decimal int64 per line (no blank lines; a final newline is optional).
/// Ids must be unique.
/// </summary>
public static class IdsFile
{
    /// <exception cref="InvalidDataException">a line that is not an integer, or an id that appears twice; the message names the line.</exception>
    public static long[] Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path} does not exist", path);
        bool npy = path.EndsWith(".npy", StringComparison.OrdinalIgnoreCase);
        long[] ids = npy ? Npy.ReadInt64(path) : ReadText(path);
        if (ids.Length == 0) throw new InvalidDataException($"{path}: the ids file is empty");

        var firstSeen = new Dictionary<long, int>(ids.Length);
        for (int i = 0; i < ids.Length; i++)
        {
            if (firstSeen.TryAdd(ids[i], i)) continue;
            string where = npy ? $"entries {firstSeen[ids[i]]} and {i} (from 0)" : $"lines {firstSeen[ids[i]] + 1} and {i + 1}";
            throw new InvalidDataException($"{path}: id {ids[i]} appears twice, at {where}; ids must be unique");
        }
        return ids;
    }

    /// <summary>Writes the text form, one id per line.</summary>
    public static void Write(string path, ReadOnlySpan<long> ids)
    {
        using var writer = new StreamWriter(path);
        foreach (long id in ids) writer.WriteLine(id.ToString(CultureInfo.InvariantCulture));
    }

    private static long[] ReadText(string path)
    {
        var ids = new List<long>();
        int lineNumber = 0;
        foreach (string line in File.ReadLines(path))
        {
            lineNumber++;
            string text = line.Trim();
            if (text.Length == 0)
                throw new InvalidDataException($"{path}: line {lineNumber} is empty; put one id on every line");
            if (!long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long id))
                throw new InvalidDataException($"{path}: line {lineNumber}: '{Shorten(text)}' is not a 64-bit integer id");
            ids.Add(id);
        }
        return ids.ToArray();
    }

    internal static string Shorten(string text) => text.Length <= 40 ? text : text[..40] + "…";
}
