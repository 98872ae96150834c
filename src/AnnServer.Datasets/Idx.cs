using System.Buffers.Binary;
using System.IO.Compression;

namespace AnnServer.Datasets;

/// <summary>
/// The IDX format of the MNIST family, raw or gzip-compressed as distributed.
/// </summary>
/// <remarks>
/// <code>
/// offset 0   u8  0
///        1   u8  0
///        2   u8  element type: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64
///        3   u8  number of axes n (1..8)
///        4   n × int32 big-endian: the size of each axis
///        ..  the elements, big-endian, last axis fastest
/// </code>
/// The first axis is the row; the other axes are flattened into one vector (28 × 28 images become 784 components).
/// </remarks>
public static class Idx
{
    public const byte UInt8 = 0x08;
    public const byte Int8 = 0x09;
    public const byte Int16 = 0x0B;
    public const byte Int32 = 0x0C;
    public const byte Float32 = 0x0D;
    public const byte Float64 = 0x0E;

    public static bool IsKnownTypeCode(byte code) => code is UInt8 or Int8 or Int16 or Int32 or Float32 or Float64;

    /// <summary>Bytes per element of a type code (which must be known).</summary>
    public static int ElementSize(byte code) => code switch
    {
        UInt8 or Int8 => 1,
        Int16 => 2,
        Int32 or Float32 => 4,
        Float64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(code), $"unknown IDX element type 0x{code:X2}"),
    };

    /// <summary>Writes unsigned bytes (such as MNIST images) with the given axes, e.g. [count, 28, 28].</summary>
    public static void WriteUInt8(string path, ReadOnlySpan<byte> data, ReadOnlySpan<int> shape, bool gzip) =>
        Write(path, UInt8, shape, data, gzip);

    /// <summary>Writes vectors as float32 with axes [count, dimension].</summary>
    public static void WriteFloat32(string path, VectorSet vectors, bool gzip)
    {
        var bytes = new byte[vectors.Data.Length * 4];
        for (int i = 0; i < vectors.Data.Length; i++) BinaryPrimitives.WriteSingleBigEndian(bytes.AsSpan(i * 4), vectors.Data[i]);
        Write(path, Float32, [vectors.Count, vectors.Dimension], bytes, gzip);
    }

    /// <summary>Writes an IDX file whose elements are already encoded big-endian in <paramref name="elements"/>.</summary>
    public static void Write(string path, byte typeCode, ReadOnlySpan<int> shape, ReadOnlySpan<byte> elements, bool gzip)
    {
        if (!IsKnownTypeCode(typeCode)) throw new ArgumentException($"unknown IDX element type 0x{typeCode:X2}", nameof(typeCode));
        if (shape.Length is < 1 or > 8) throw new ArgumentException($"IDX files have 1 to 8 axes, got {shape.Length}", nameof(shape));
        long count = 1;
        foreach (int size in shape) count *= size;
        if (count * ElementSize(typeCode) != elements.Length)
            throw new ArgumentException($"shape [{string.Join(", ", shape.ToArray())}] needs {count * ElementSize(typeCode)} bytes, got {elements.Length}");

        using var file = File.Create(path);
        using Stream stream = gzip ? new GZipStream(file, CompressionLevel.Fastest) : new BufferedStream(file, 1 << 16);
        Span<byte> header = stackalloc byte[4];
        header[0] = 0;
        header[1] = 0;
        header[2] = typeCode;
        header[3] = (byte)shape.Length;
        stream.Write(header);
        foreach (int size in shape)
        {
            BinaryPrimitives.WriteInt32BigEndian(header, size);
            stream.Write(header);
        }
        stream.Write(elements);
    }
}
