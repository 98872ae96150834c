using PureHDF;
using PureHDF.VOL.Native;

namespace AnnServer.Datasets;

/// <summary>
/// HDF5 files in the ann-benchmarks layout: 2-D datasets <c>train</c> (base vectors, float32), <c>test</c> (queries),
/// <c>neighbors</c> (int32 row numbers of each query's true nearest neighbours) and <c>distances</c> (float32),
/// with a file attribute <c>distance</c> ("euclidean", "angular", ...).
/// </summary>
public static class AnnBenchmarksHdf5
{
    public const string Train = "train";
    public const string Test = "test";
    public const string Neighbors = "neighbors";
    public const string Distances = "distances";

    /// <summary>Writes an ann-benchmarks file; null parts are left out.</summary>
    public static void Write(string path, VectorSet train, VectorSet? test = null, IReadOnlyList<int[]>? neighbors = null,
        VectorSet? distances = null, string? distance = null)
    {
        var file = new H5File { [Train] = ToDataset(train) };
        if (test is not null) file[Test] = ToDataset(test);
        if (neighbors is not null)
        {
            int k = neighbors.Count == 0 ? 0 : neighbors[0].Length;
            var flat = new int[neighbors.Count * k];
            for (int q = 0; q < neighbors.Count; q++)
            {
                if (neighbors[q].Length != k) throw new ArgumentException($"neighbour row {q} has {neighbors[q].Length} ids, row 0 has {k}", nameof(neighbors));
                neighbors[q].CopyTo(flat, q * k);
            }
            file[Neighbors] = new H5Dataset(flat, fileDims: [(ulong)neighbors.Count, (ulong)k]);
        }
        if (distances is not null) file[Distances] = ToDataset(distances);
        if (distance is not null) file.Attributes["distance"] = distance;
        file.Write(path);
    }

    /// <summary>The names of the datasets at the top of the file.</summary>
    public static IReadOnlyList<string> DatasetNames(string path)
    {
        using var file = Open(path);
        return ChildNames(file);
    }

    /// <summary>The file's <c>distance</c> attribute ("euclidean", "angular", ...), or null when it has none.</summary>
    public static string? ReadDistanceAttribute(string path)
    {
        using var file = Open(path);
        return file.AttributeExists("distance") ? file.Attribute("distance").Read<string>() : null;
    }

    /// <summary>Reads an integer dataset (by default <c>neighbors</c>) as one int row per query, e.g. to write .ivecs.</summary>
    /// <exception cref="InvalidDataException">no such dataset, not 2-D, or not 32-bit integers.</exception>
    public static int[][] ReadNeighbors(string path, string dataset = Neighbors)
    {
        using var file = Open(path);
        var data = OpenDataset(file, path, dataset);
        var shape = data.Space.Dimensions;
        if (shape.Length != 2)
            throw new InvalidDataException($"{path}: dataset '{dataset}' has {shape.Length} axes; neighbour ids must be a 2-D array (queries, k)");
        if (data.Type.Class != H5DataTypeClass.FixedPoint || data.Type.Size is not (4 or 8))
            throw new InvalidDataException($"{path}: dataset '{dataset}' holds {DescribeType(data.Type)}, not 32- or 64-bit integer ids");
        int rows = checked((int)shape[0]);
        int k = checked((int)shape[1]);
        var flat = new int[(long)rows * k];
        if (data.Type.Size == 4) data.Read(flat);
        else
        {
            var wide = data.Read<long[]>();
            for (long i = 0; i < wide.LongLength; i++)
                flat[i] = wide[i] is >= int.MinValue and <= int.MaxValue
                    ? (int)wide[i]
                    : throw new InvalidDataException($"{path}: dataset '{dataset}' row {i / k} holds id {wide[i]}, beyond the int32 range of .ivecs");
        }
        var result = new int[rows][];
        for (int q = 0; q < rows; q++) result[q] = flat.AsSpan(q * k, k).ToArray();
        return result;
    }

    /// <summary>Whether the dataset holds integers (ids) rather than vectors.</summary>
    public static bool IsIntegerDataset(string path, string dataset)
    {
        using var file = Open(path);
        return OpenDataset(file, path, dataset).Type.Class == H5DataTypeClass.FixedPoint;
    }

    internal static NativeFile Open(string path)
    {
        try
        {
            return H5File.OpenRead(path);
        }
        catch (Exception e) when (e is not (FileNotFoundException or UnauthorizedAccessException or DirectoryNotFoundException))
        {
            throw new InvalidDataException($"{path}: not a readable HDF5 file ({e.Message})", e);
        }
    }

    internal static IH5Dataset OpenDataset(NativeFile file, string path, string name)
    {
        if (!file.LinkExists(name))
        {
            var names = ChildNames(file);
            throw new InvalidDataException(
                $"{path}: there is no dataset '{name}' (the file has {(names.Count == 0 ? "none" : string.Join(", ", names))})");
        }
        try
        {
            return file.Dataset(name);
        }
        catch (Exception e)
        {
            throw new InvalidDataException($"{path}: '{name}' is not a readable dataset ({e.Message})", e);
        }
    }

    internal static string DescribeType(IH5DataType type) => type.Class switch
    {
        H5DataTypeClass.FloatingPoint => $"{type.Size * 8}-bit floats",
        H5DataTypeClass.FixedPoint => $"{type.Size * 8}-bit integers",
        var other => $"values of HDF5 class {other}",
    };

    private static List<string> ChildNames(NativeFile file) => file.Children().Select(c => c.Name).Order(StringComparer.Ordinal).ToList();

    private static H5Dataset ToDataset(VectorSet vectors) =>
        new(vectors.Data, fileDims: [(ulong)vectors.Count, (ulong)vectors.Dimension]);
}
