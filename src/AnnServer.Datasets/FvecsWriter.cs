using System.Buffers.Binary;

namespace AnnServer.Datasets;

/// <summary>Writes .fvecs rows one at a time to a stream, so a file can be converted without holding it in memory.</summary>
public sealed class FvecsWriter(Stream destination, bool leaveOpen = false) : IDisposable
{
    private readonly BufferedStream _stream = new(destination, 1 << 16);
    private byte[] _row = [];

    public long RowsWritten { get; private set; }

    public void WriteRow(ReadOnlySpan<float> values)
    {
        int length = 4 + values.Length * 4;
        if (_row.Length != length) _row = new byte[length];
        BinaryPrimitives.WriteInt32LittleEndian(_row, values.Length);
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(_row.AsSpan(4 + i * 4), values[i]);
        _stream.Write(_row);
        RowsWritten++;
    }

    /// <summary>Pushes buffered rows to the underlying stream.</summary>
    public void Flush() => _stream.Flush();

    public void Dispose()
    {
        _stream.Flush();
        if (!leaveOpen) _stream.Dispose();
    }
}
