using System.Globalization;

namespace AnnServer.Datasets;

/// <summary>
/// The labels of the points: a text file with one line per row of the vector file, in the same order, each holding
/// comma-separated int32 labels (spaces around them are ignored). An empty line means a point without labels.
/// </summary>
public static class LabelsFile
{
    /// <summary>One array per line (empty for an empty line).</summary>
    /// <exception cref="InvalidDataException">a label that is not an int32; the message names the line.</exception>
    public static int[][] Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path} does not exist", path);
        var rows = new List<int[]>();
        int lineNumber = 0;
        foreach (string line in File.ReadLines(path))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
            {
                rows.Add([]);
                continue;
            }
            var parts = line.Split(',');
            var labels = new int[parts.Length];
            for (int i = 0; i < parts.Length; i++)
            {
                string text = parts[i].Trim();
                if (text.Length == 0)
                    throw new InvalidDataException($"{path}: line {lineNumber}: label {i + 1} is empty (two commas in a row, or a trailing comma?)");
                if (!int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out labels[i]))
                    throw new InvalidDataException($"{path}: line {lineNumber}: '{IdsFile.Shorten(text)}' is not a 32-bit integer label");
            }
            rows.Add(labels);
        }
        return rows.ToArray();
    }

    public static void Write(string path, IReadOnlyList<int[]?> labels)
    {
        using var writer = new StreamWriter(path);
        foreach (var row in labels)
            writer.WriteLine(row is null ? "" : string.Join(",", row.Select(l => l.ToString(CultureInfo.InvariantCulture))));
    }
}
