using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;

namespace AnnServer.Datasets;

/// <summary>The header of a NumPy .npy file.</summary>
/// <param name="Descr">The dtype string, e.g. "&lt;f4" (little-endian float32) or "&lt;i8" (little-endian int64).</param>
/// <param name="FortranOrder">True when the array is stored column-major.</param>
/// <param name="Shape">The size of each axis.</param>
/// <param name="DataOffset">Where the array data starts in the file.</param>
public sealed record NpyHeader(string Descr, bool FortranOrder, long[] Shape, long DataOffset);

/// <summary>
/// NumPy .npy files (format versions 1.0, 2.0 and 3.0).
/// </summary>
/// <remarks>
/// <code>
/// offset 0   6 bytes  "\x93NUMPY"
///        6   u8       major version (1, 2 or 3)
///        7   u8       minor version
///        8   u16 LE   header length (version 1); u32 LE from version 2 on, so the header starts at 12
///        10  ASCII    a Python dict literal: {'descr': '&lt;f4', 'fortran_order': False, 'shape': (rows, dimension), }
///                     padded with spaces and a final '\n' so the data starts on a 64-byte boundary
///        ..  the array data, no padding
/// </code>
/// Vectors must be a 2-D float32 ('&lt;f4') array in C order; ids a 1-D int64 ('&lt;i8') or int32 ('&lt;i4') array.
/// </remarks>
public static partial class Npy
{
    public static ReadOnlySpan<byte> Magic => [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    /// <summary>The dtype of vectors: little-endian float32.</summary>
    public const string Float32 = "<f4";

    /// <summary>Also accepted for vectors: little-endian float16, widened to float32 when read.</summary>
    public const string Float16 = "<f2";

    public const string Int64 = "<i8";
    public const string Int32 = "<i4";

    /// <summary>Reads the header of <paramref name="stream"/>, which must be at the start of an .npy file; leaves it at the data.</summary>
    /// <exception cref="InvalidDataException">not an .npy file, or a header this reader cannot parse.</exception>
    public static NpyHeader ReadHeader(Stream stream, string path)
    {
        Span<byte> prefix = stackalloc byte[12];
        if (stream.ReadAtLeast(prefix[..10], 10, throwOnEndOfStream: false) < 10 || !prefix.StartsWith(Magic))
            throw new InvalidDataException($"{path}: not a NumPy .npy file (it does not start with \\x93NUMPY)");
        int major = prefix[6];
        int headerLength;
        int headerStart;
        switch (major)
        {
            case 1:
                headerLength = BinaryPrimitives.ReadUInt16LittleEndian(prefix[8..]);
                headerStart = 10;
                break;
            case 2 or 3:
                if (stream.ReadAtLeast(prefix[10..12], 2, throwOnEndOfStream: false) < 2)
                    throw new InvalidDataException($"{path}: the .npy header is truncated");
                uint length = BinaryPrimitives.ReadUInt32LittleEndian(prefix[8..]);
                if (length > 1 << 20) throw new InvalidDataException($"{path}: the .npy header claims {length} bytes; the file is corrupt");
                headerLength = (int)length;
                headerStart = 12;
                break;
            default:
                throw new InvalidDataException($"{path}: .npy format version {major}.{prefix[7]} is not supported (1.0 to 3.0 are)");
        }
        var headerBytes = new byte[headerLength];
        if (stream.ReadAtLeast(headerBytes, headerLength, throwOnEndOfStream: false) < headerLength)
            throw new InvalidDataException($"{path}: the .npy header is truncated");
        string header = (major == 3 ? Encoding.UTF8 : Encoding.Latin1).GetString(headerBytes);

        var descr = DescrPattern().Match(header);
        if (!descr.Success)
            throw new InvalidDataException($"{path}: the .npy header has no simple 'descr' (structured dtypes are not supported): {header.Trim()}");
        var fortran = FortranPattern().Match(header);
        if (!fortran.Success)
            throw new InvalidDataException($"{path}: the .npy header has no 'fortran_order': {header.Trim()}");
        var shapeMatch = ShapePattern().Match(header);
        if (!shapeMatch.Success)
            throw new InvalidDataException($"{path}: the .npy header has no 'shape': {header.Trim()}");
        var shape = new List<long>();
        foreach (string part in shapeMatch.Groups[1].Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!long.TryParse(part.TrimEnd('L'), NumberStyles.None, CultureInfo.InvariantCulture, out long size))
                throw new InvalidDataException($"{path}: the .npy shape ({shapeMatch.Groups[1].Value}) is not a tuple of sizes");
            shape.Add(size);
        }
        return new NpyHeader(descr.Groups[1].Value, fortran.Groups[1].Value == "True", shape.ToArray(), headerStart + headerLength);
    }

    /// <summary>Describes a dtype string for an error message: "'&lt;f8' (float64)".</summary>
    public static string DescribeDtype(string descr)
    {
        if (descr.Length < 2) return $"'{descr}'";
        string body = descr[0] is '<' or '>' or '|' or '=' ? descr[1..] : descr;
        string kind = body[0] switch
        {
            'f' => "float",
            'i' => "int",
            'u' => "uint",
            'c' => "complex",
            'b' => "bool",
            'U' => "unicode string",
            'S' or 'a' => "byte string",
            'O' => "Python object",
            'M' => "datetime",
            'm' => "timedelta",
            _ => "",
        };
        if (kind.Length == 0) return $"'{descr}'";
        string bits = int.TryParse(body[1..], NumberStyles.None, CultureInfo.InvariantCulture, out int bytes) && body[0] is 'f' or 'i' or 'u' or 'c'
            ? (bytes * 8).ToString(CultureInfo.InvariantCulture)
            : "";
        string order = descr[0] == '>' ? "big-endian " : "";
        return $"'{descr}' ({order}{kind}{bits})";
    }

    /// <summary>Writes vectors as a 2-D float32 C-order array.</summary>
    public static void WriteFloat32(string path, VectorSet vectors) =>
        Write(path, Float32, fortranOrder: false, [vectors.Count, vectors.Dimension], MemoryMarshal.AsBytes(vectors.Data.AsSpan()));

    /// <summary>Writes ids as a 1-D int64 array.</summary>
    public static void WriteInt64(string path, ReadOnlySpan<long> values) =>
        Write(path, Int64, fortranOrder: false, [values.Length], MemoryMarshal.AsBytes(values));

    /// <summary>Writes an array whose data is already encoded as <paramref name="descr"/> says (any dtype, any order).</summary>
    public static void Write(string path, string descr, bool fortranOrder, ReadOnlySpan<long> shape, ReadOnlySpan<byte> data)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("writing .npy files needs a little-endian machine");
        string shapeText = shape.Length == 1 ? $"({shape[0]},)" : $"({string.Join(", ", shape.ToArray())})";
        string dict = $"{{'descr': '{descr}', 'fortran_order': {(fortranOrder ? "True" : "False")}, 'shape': {shapeText}, }}";
        // NumPy pads the header with spaces so that the data starts on a 64-byte boundary, then ends it with '\n'.
        int unpadded = 10 + dict.Length + 1;
        int padding = (64 - unpadded % 64) % 64;
        string header = dict + new string(' ', padding) + "\n";

        using var stream = new BufferedStream(File.Create(path), 1 << 16);
        stream.Write(Magic);
        stream.WriteByte(1);
        stream.WriteByte(0);
        Span<byte> length = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(length, checked((ushort)header.Length));
        stream.Write(length);
        stream.Write(Encoding.ASCII.GetBytes(header));
        stream.Write(data);
    }

    /// <summary>Reads a 1-D int64 (or int32) array, as used for ids.</summary>
    /// <exception cref="InvalidDataException">another dtype, more than one axis, or a truncated file.</exception>
    public static long[] ReadInt64(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        var header = ReadHeader(stream, path);
        if (header.Descr is not (Int64 or Int32))
            throw new InvalidDataException($"{path}: dtype {DescribeDtype(header.Descr)} is not supported for ids: use int64 ('<i8'), e.g. arr.astype('<i8')");
        bool flat = header.Shape.Length == 1 || (header.Shape.Length == 2 && (header.Shape[1] == 1 || header.Shape[0] == 1));
        if (!flat)
            throw new InvalidDataException($"{path}: ids must be a 1-D array, got shape ({string.Join(", ", header.Shape)})");
        long count = header.Shape.Aggregate(1L, (a, b) => a * b);
        int size = header.Descr == Int64 ? 8 : 4;
        if (count > Array.MaxLength) throw new InvalidDataException($"{path}: {count} ids are more than one array can hold");
        var bytes = new byte[count * size];
        if (stream.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false) < bytes.Length)
            throw new InvalidDataException($"{path}: truncated: the header announces {count} ids but the data is shorter");
        var ids = new long[count];
        for (long i = 0; i < count; i++)
            ids[i] = size == 8 ? BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan((int)(i * 8))) : BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan((int)(i * 4)));
        return ids;
    }

    [GeneratedRegex(@"['""]descr['""]\s*:\s*['""]([^'""]*)['""]")]
    private static partial Regex DescrPattern();

    [GeneratedRegex(@"['""]fortran_order['""]\s*:\s*(True|False)")]
    private static partial Regex FortranPattern();

    [GeneratedRegex(@"['""]shape['""]\s*:\s*\(([^)]*)\)")]
    private static partial Regex ShapePattern();
}
