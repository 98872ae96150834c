using System.Runtime.InteropServices;
using System.Text;

namespace AnnServer.Datasets.Tests;

public sealed class NpyTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void Float32MatrixRoundTrips()
    {
        var vectors = Synthetic.Vectors(40, 12);
        string path = _folder.File("v.npy");
        Npy.WriteFloat32(path, vectors);

        var loaded = VectorLoader.Load(path);

        Assert.Equal(VectorFormat.Npy, loaded.Format);
        Assert.Equal(40, loaded.Vectors.Count);
        Assert.Equal(12, loaded.Vectors.Dimension);
        Assert.Equal(vectors.Data, loaded.Vectors.Data);
    }

    [Fact]
    public void Float16MatrixIsWidenedToFloat32()
    {
        // Values chosen to be exact in float16, so the widened floats must equal them exactly.
        float[] values = [0.5f, -1.25f, 65504f, 0f, 3.140625f, -0.0009765625f];
        var data = new byte[values.Length * 2];
        for (int i = 0; i < values.Length; i++)
            System.Buffers.Binary.BinaryPrimitives.WriteHalfLittleEndian(data.AsSpan(i * 2), (Half)values[i]);
        string path = _folder.File("half.npy");
        Npy.Write(path, "<f2", fortranOrder: false, [2, 3], data);

        var loaded = VectorLoader.Load(path);

        Assert.Equal(2, loaded.Vectors.Count);
        Assert.Equal(3, loaded.Vectors.Dimension);
        Assert.Equal(values, loaded.Vectors.Data);
    }

    [Fact]
    public void TruncatedFloat16DataIsReported()
    {
        string path = _folder.File("half.npy");
        Npy.Write(path, "<f2", fortranOrder: false, [4, 4], new byte[30]);
        var error = Assert.Throws<InvalidDataException>(() => VectorLoader.Load(path));
        Assert.Contains("truncated", error.Message);
    }

    [Fact]
    public void HeaderIsPaddedSoDataStartsOn64Bytes()
    {
        string path = _folder.File("v.npy");
        Npy.WriteFloat32(path, Synthetic.Vectors(2, 3));
        using var stream = File.OpenRead(path);
        var header = Npy.ReadHeader(stream, path);
        Assert.Equal(0, header.DataOffset % 64);
        Assert.Equal(new long[] { 2, 3 }, header.Shape);
        Assert.Equal("<f4", header.Descr);
        Assert.False(header.FortranOrder);
    }

    [Fact]
    public void Version2HeaderIsRead()
    {
        var vectors = Synthetic.Vectors(3, 2);
        string path = _folder.File("v2.npy");
        string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }";
        string header = dict + new string(' ', 64 - (12 + dict.Length + 1) % 64) + "\n";
        using (var stream = File.Create(path))
        {
            stream.Write(Npy.Magic);
            stream.Write([2, 0]);
            stream.Write(BitConverter.GetBytes((uint)header.Length));
            stream.Write(Encoding.ASCII.GetBytes(header));
            stream.Write(MemoryMarshal.AsBytes(vectors.Data.AsSpan()));
        }
        Assert.Equal(vectors.Data, VectorLoader.Load(path).Vectors.Data);
    }

    [Theory]
    [InlineData("<f8", "dtype '<f8' (float64) is not supported: vectors must be float32 ('<f4') or float16 ('<f2'); convert with arr.astype('float32')")]
    [InlineData("<i8", "dtype '<i8' (int64) is not supported: vectors must be float32 ('<f4') or float16 ('<f2'); convert with arr.astype('float32')")]
    [InlineData("|u1", "dtype '|u1' (uint8) is not supported: vectors must be float32 ('<f4') or float16 ('<f2'); convert with arr.astype('float32')")]
    [InlineData(">f4", "big-endian float32 ('>f4') is not supported: save it with arr.astype('<f4')")]
    [InlineData(">f2", "big-endian float16 ('>f2') is not supported: save it with arr.astype('<f2')")]
    public void OtherDtypesAreRefusedByName(string descr, string message)
    {
        string path = _folder.File("v.npy");
        Npy.Write(path, descr, fortranOrder: false, [2, 2], new byte[64]);
        var error = Assert.Throws<InvalidDataException>(() => VectorLoader.Load(path));
        Assert.Equal($"{path}: {message}", error.Message);
    }

    [Fact]
    public void FortranOrderIsRefused()
    {
        string path = _folder.File("v.npy");
        Npy.Write(path, "<f4", fortranOrder: true, [2, 2], new byte[16]);
        var error = Assert.Throws<InvalidDataException>(() => VectorLoader.Load(path));
        Assert.Equal($"{path}: the array is in Fortran (column-major) order; save it in C order with numpy.ascontiguousarray(arr)", error.Message);
    }

    [Theory]
    [InlineData(new long[] { 6 }, "(6)")]
    [InlineData(new long[] { 2, 3, 1 }, "(2, 3, 1)")]
    public void ArraysThatAreNot2DAreRefused(long[] shape, string shown)
    {
        string path = _folder.File("v.npy");
        Npy.Write(path, "<f4", fortranOrder: false, shape, new byte[24]);
        var error = Assert.Throws<InvalidDataException>(() => VectorLoader.Load(path));
        Assert.Equal($"{path}: vectors must be a 2-D array (rows, dimension), got shape {shown}", error.Message);
    }

    [Fact]
    public void TruncatedDataIsReported()
    {
        string path = _folder.File("v.npy");
        Npy.Write(path, "<f4", fortranOrder: false, [4, 4], new byte[60]);
        var error = Assert.Throws<InvalidDataException>(() => VectorLoader.Load(path));
        Assert.Equal($"{path}: truncated: shape (4, 4) needs 192 bytes but the file has 188", error.Message);
    }

    [Fact]
    public void FileWithoutTheMagicIsNotNpy()
    {
        string path = _folder.File("v.npy");
        File.WriteAllText(path, "0.1,0.2,0.3\n0.4,0.5,0.6\n");
        var error = Assert.Throws<InvalidDataException>(() => VectorLoader.Load(path));
        Assert.Equal($"{path}: not a NumPy .npy file (it does not start with \\x93NUMPY)", error.Message);
    }

    [Fact]
    public void Int64IdsRoundTrip()
    {
        long[] ids = [5, -1, long.MaxValue, 0];
        string path = _folder.File("ids.npy");
        Npy.WriteInt64(path, ids);
        Assert.Equal(ids, Npy.ReadInt64(path));
    }
}
