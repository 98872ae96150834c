using AnnServer.Core;
using AnnServer.Core.Snapshots;
using AnnServer.Datasets;

namespace AnnServer.Benchmarks;

/// <summary>
/// The data the index benchmarks run on: Fashion-MNIST (the first 20,000 training images and 1,000 test images) when
/// Debian's dataset-fashion-mnist is installed, else clustered synthetic vectors of dimension 128.
/// Both are fixed for a given machine, so runs compare.
/// </summary>
public static class BenchmarkData
{
    public const string Synthetic = "synthetic-20k-128";
    public const string FashionMnist = "fashion-mnist-20k";
    private const string FashionMnistFolder = "/usr/share/datasets/fashion-mnist";

    /// <summary>The data sets present on this machine.</summary>
    public static IEnumerable<string> Available()
    {
        yield return Synthetic;
        if (File.Exists(Path.Combine(FashionMnistFolder, "train-images-idx3-ubyte.gz"))) yield return FashionMnist;
    }

    public static (VectorSet Base, VectorSet Queries) Load(string name) => name switch
    {
        FashionMnist => (ReadIdx("train-images-idx3-ubyte.gz", 20_000), ReadIdx("t10k-images-idx3-ubyte.gz", 1_000)),
        _ => (Clustered(20_000, 128, seed: 1), Clustered(1_000, 128, seed: 2)),
    };

    private static readonly Dictionary<string, (HnswIndex Index, VectorSet Queries)> s_prepared = [];
    private static readonly Dictionary<string, string> s_snapshots = [];

    /// <summary>The index of a data set and its queries, built once per process: the benchmarks run in-process, and
    /// each parameter combination calls its GlobalSetup again.</summary>
    public static (HnswIndex Index, VectorSet Queries) Prepared(string name)
    {
        lock (s_prepared)
        {
            if (!s_prepared.TryGetValue(name, out var prepared))
            {
                var (vectors, queries) = Load(name);
                prepared = (BuildIndex(vectors), queries);
                s_prepared[name] = prepared;
            }
            return prepared;
        }
    }

    /// <summary>A snapshot file of <see cref="Prepared"/>'s index, written once per process and deleted at exit.</summary>
    public static string SnapshotFile(string name)
    {
        lock (s_snapshots)
        {
            if (!s_snapshots.TryGetValue(name, out string? path))
            {
                path = Path.Combine(Path.GetTempPath(), $"annserver-bench-{Environment.ProcessId}-{name}.snap");
                Snapshot.Save(Prepared(name).Index, path);
                s_snapshots[name] = path;
                AppDomain.CurrentDomain.ProcessExit += (_, _) => File.Delete(path);
            }
            return path;
        }
    }

    /// <summary>Builds the index the search and snapshot benchmarks share: M = 16, efConstruction = 200, ids = rows.</summary>
    public static HnswIndex BuildIndex(VectorSet vectors)
    {
        var index = new HnswIndex(new HnswOptions { Dimension = vectors.Dimension, M = 16, EfConstruction = 200 });
        var ids = new long[vectors.Count];
        for (int i = 0; i < ids.Length; i++) ids[i] = i;
        index.UpsertMany(vectors.Data, ids);
        return index;
    }

    private static VectorSet ReadIdx(string file, int rows) =>
        VectorLoader.Load(Path.Combine(FashionMnistFolder, file), new VectorLoadOptions { Format = VectorFormat.Idx, MaxRows = rows }).Vectors;

    private static VectorSet Clustered(int count, int dimension, int seed)
    {
        const int clusters = 64;
        var random = new Random(seed);
        var centres = new Random(0); // the same centres for base and queries
        var centre = new float[clusters * dimension];
        for (int i = 0; i < centre.Length; i++) centre[i] = (float)(centres.NextDouble() * 4 - 2);
        var data = new float[count * dimension];
        for (int r = 0; r < count; r++)
        {
            int c = random.Next(clusters);
            for (int d = 0; d < dimension; d++)
                data[r * dimension + d] = centre[c * dimension + d] + (float)(random.NextDouble() - 0.5);
        }
        return new VectorSet(data, count, dimension);
    }
}
