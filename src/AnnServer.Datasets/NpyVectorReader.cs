using System.Runtime.InteropServices;

namespace AnnServer.Datasets;

/// <summary>Reads a 2-D float32 or float16 C-order .npy array row by row (layout in <see cref="Npy"/>); float16
/// components are widened to float32 (every float16 value is exact in float32).</summary>
internal sealed class NpyVectorReader : VectorReader
{
    private readonly FileStream _stream;
    private readonly byte[] _rowBytes;
    private readonly bool _half;

    public NpyVectorReader(string path) : base(path)
    {
        _stream = OpenSequential(path);
        try
        {
            var header = Npy.ReadHeader(_stream, path);
            string shape = $"({string.Join(", ", header.Shape)})";
            if (header.Descr == ">f4")
                throw new InvalidDataException($"{path}: big-endian float32 ('>f4') is not supported: save it with arr.astype('<f4')");
            if (header.Descr == ">f2")
                throw new InvalidDataException($"{path}: big-endian float16 ('>f2') is not supported: save it with arr.astype('<f2')");
            _half = header.Descr == Npy.Float16;
            if (header.Descr != Npy.Float32 && !_half)
                throw new InvalidDataException($"{path}: dtype {Npy.DescribeDtype(header.Descr)} is not supported: vectors must be float32 ('<f4') or float16 ('<f2'); convert with arr.astype('float32')");
            if (header.FortranOrder)
                throw new InvalidDataException($"{path}: the array is in Fortran (column-major) order; save it in C order with numpy.ascontiguousarray(arr)");
            if (header.Shape.Length != 2)
                throw new InvalidDataException($"{path}: vectors must be a 2-D array (rows, dimension), got shape {shape}");
            if (header.Shape[1] is 0 or > MaxDimension)
                throw new InvalidDataException($"{path}: rows of {header.Shape[1]} components are not supported (shape {shape})");
            Dimension = (int)header.Shape[1];
            ExpectedRows = header.Shape[0];
            int componentBytes = _half ? 2 : 4;
            long needed = header.DataOffset + ExpectedRows * Dimension * componentBytes;
            if (_stream.Length < needed)
                throw new InvalidDataException($"{path}: truncated: shape {shape} needs {needed} bytes but the file has {_stream.Length}");
            _stream.Position = header.DataOffset;
            _rowBytes = new byte[Dimension * componentBytes];
        }
        catch
        {
            _stream.Dispose();
            throw;
        }
    }

    public override VectorFormat Format => VectorFormat.Npy;

    public override bool TryReadRow(Span<float> destination, out int rowDimension)
    {
        rowDimension = Dimension;
        if (RowsRead == ExpectedRows || !ReadRowBytes(_stream, _rowBytes)) return false;
        if (_half)
        {
            for (int i = 0; i < destination.Length; i++)
                destination[i] = (float)System.Buffers.Binary.BinaryPrimitives.ReadHalfLittleEndian(_rowBytes.AsSpan(i * 2));
            RowsRead++;
            return true;
        }
        var values = MemoryMarshal.Cast<byte, float>(_rowBytes);
        if (BitConverter.IsLittleEndian) values.CopyTo(destination);
        else
            for (int i = 0; i < destination.Length; i++)
                destination[i] = System.Buffers.Binary.BinaryPrimitives.ReadSingleLittleEndian(_rowBytes.AsSpan(i * 4));
        RowsRead++;
        return true;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _stream.Dispose();
    }
}
