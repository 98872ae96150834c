using AnnServer.Datasets;
using Xunit;

namespace AnnServer.Harness.Tests;

public sealed class TexmexFilesTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("ann-bench-texmex-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void FvecsRoundTripKeepsEveryComponent()
    {
        var vectors = new VectorSet([1.5f, -2f, float.Epsilon, 3e38f, 0f, -0.25f], 2, 3);
        string path = Path.Combine(_folder, "v.fvecs");
        Texmex.WriteFvecs(path, vectors);
        var read = Texmex.ReadFvecs(path);
        Assert.Equal(2, read.Count);
        Assert.Equal(3, read.Dimension);
        Assert.Equal(vectors.Data, read.Data);
        Assert.Equal(2 * (4 + 3 * 4), new FileInfo(path).Length);
    }

    [Fact]
    public void IvecsRoundTripKeepsRowsOfDifferentLengths()
    {
        int[][] rows = [[3, 1, 2], [], [int.MaxValue, -1]];
        string path = Path.Combine(_folder, "gt.ivecs");
        Texmex.WriteIvecs(path, rows);
        var read = Texmex.ReadIvecs(path);
        Assert.Equal(rows, read);
    }

    [Fact]
    public void TruncatedFvecsIsRejectedWithAMessage()
    {
        string path = Path.Combine(_folder, "cut.fvecs");
        Texmex.WriteFvecs(path, new VectorSet([1f, 2f, 3f, 4f], 2, 2));
        using (var stream = File.OpenWrite(path)) stream.SetLength(stream.Length - 2);
        var e = Assert.Throws<InvalidDataException>(() => Texmex.ReadFvecs(path));
        Assert.Contains("cut.fvecs", e.Message);
    }
}
