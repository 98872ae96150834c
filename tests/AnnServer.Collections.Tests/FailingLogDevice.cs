using FASTER.core;

namespace AnnServer.Collections.Tests;

/// <summary>
/// The log's real device on disk, whose page writes can be made to fail from one moment on, as a full or broken disk
/// would make them: FASTER then fails the commit that waits for them. Reads and everything else go to the real device.
/// </summary>
internal sealed class FailingLogDevice(IDevice inner) : StorageDeviceBase(inner.FileName, inner.SectorSize, inner.Capacity)
{
    private const uint InputOutputError = 5; // EIO

    private volatile bool _failing;

    /// <summary>Page writes that failed so far.</summary>
    public int FailedWrites;

    /// <summary>From now on every page write fails.</summary>
    public void FailWrites() => _failing = true;

    public override void Initialize(long segmentSize, LightEpoch epoch = null!, bool omitSegmentIdFromFilename = false)
    {
        base.Initialize(segmentSize, epoch, omitSegmentIdFromFilename);
        inner.Initialize(segmentSize, epoch, omitSegmentIdFromFilename);
    }

    public override void WriteAsync(IntPtr sourceAddress, int segmentId, ulong destinationAddress, uint numBytesToWrite,
        DeviceIOCompletionCallback callback, object context)
    {
        if (_failing)
        {
            Interlocked.Increment(ref FailedWrites);
            callback(InputOutputError, 0, context);
            return;
        }
        inner.WriteAsync(sourceAddress, segmentId, destinationAddress, numBytesToWrite, callback, context);
    }

    public override void ReadAsync(int segmentId, ulong sourceAddress, IntPtr destinationAddress, uint readLength,
        DeviceIOCompletionCallback callback, object context) =>
        inner.ReadAsync(segmentId, sourceAddress, destinationAddress, readLength, callback, context);

    public override void RemoveSegmentAsync(int segment, AsyncCallback callback, IAsyncResult result) =>
        inner.RemoveSegmentAsync(segment, callback, result);

    public override long GetFileSize(int segment) => inner.GetFileSize(segment);

    public override bool TryComplete() => inner.TryComplete();

    public override void Dispose() => inner.Dispose();
}
