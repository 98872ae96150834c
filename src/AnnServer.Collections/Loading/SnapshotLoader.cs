using System.Diagnostics;
using System.Security.Cryptography;
using AnnServer.Core.Snapshots;
using Microsoft.Extensions.Logging;

namespace AnnServer.Collections;

/// <summary>
/// Loads an ann-build snapshot into the running server as a new collection, from a file of the import directory or an
/// upload, the way <c>--snapshot NAME=PATH</c> imports one at start (<see cref="CollectionRegistry"/>): the file is put
/// in a staging folder of the data directory (<c>.creating-NAME-…</c>, which a start removes if a crash leaves it),
/// verified, loaded, then renamed into place as an ordinary collection folder with a new, empty log.
/// <list type="number">
/// <item>The name is taken (<see cref="CollectionRegistry.BeginLoadAsync"/>): listed as LOADING with its progress.</item>
/// <item>The bytes are copied (a file) or received (an upload: written as they come, hashed with SHA-256, the size and
/// hash checked against the header) into the staging folder, and flushed.</item>
/// <item>Every checksum of the copy is read (<see cref="Snapshot.ReadInfo"/>); the index's memory, estimated from the
/// header (<see cref="MemoryEstimate"/>), is reserved in the <see cref="MemoryBudget"/>.</item>
/// <item>The index is built from the verified copy, and the folder published and opened
/// (<see cref="CollectionRegistry.CompleteLoadAsync"/>).</item>
/// </list>
/// The file work runs on the thread pool, off the request's thread. A failure or a cancellation before the rename
/// deletes the staging folder and frees the name: nothing is left behind.
/// </summary>
public sealed class SnapshotLoader(CollectionRegistry registry, MemoryBudget? memory, ImportDirectory? importDirectory,
    int maxCollections, ILogger<SnapshotLoader> logger)
{
    private const int CopyBufferBytes = 1 << 20;

    /// <summary>The import directory's real path, or null when loading from files is off (no --import-dir).</summary>
    public string? ImportDirectoryPath => importDirectory?.Root;

    /// <summary>Loads <paramref name="source"/> as collection <paramref name="name"/>; returns once it serves.</summary>
    /// <exception cref="ArgumentException">a bad name or path (<see cref="ImportDirectory.Resolve"/>).</exception>
    /// <exception cref="CollectionPreconditionException">a file, and the server has no import directory.</exception>
    /// <exception cref="ImportFileNotFoundException">no such file in the import directory.</exception>
    /// <exception cref="CollectionAlreadyExistsException">the name is taken by a collection, a load or an alias.</exception>
    /// <exception cref="InvalidSnapshotException">a damaged snapshot, or an upload that does not match its header.</exception>
    /// <exception cref="LimitExceededException">the memory budget or --max-collections.</exception>
    /// <exception cref="OperationCanceledException">cancelled; nothing is left.</exception>
    public Task<SnapshotLoadResult> LoadAsync(string name, SnapshotSource source, CancellationToken ct) => source switch
    {
        ImportedSnapshotFile file => LoadFileAsync(name, file.Path, ct),
        SnapshotUpload upload => LoadUploadAsync(name, upload, ct),
        _ => throw new ArgumentException($"unknown snapshot source {source.GetType().Name}", nameof(source)),
    };

    private async Task<SnapshotLoadResult> LoadFileAsync(string name, string path, CancellationToken ct)
    {
        long started = Stopwatch.GetTimestamp();
        if (importDirectory is null)
            throw new CollectionPreconditionException(
                "this server has no --import-dir, so it loads no files: start it with --import-dir FOLDER, or send the file with UploadSnapshot");
        string file = importDirectory.Resolve(path);
        long bytes = new FileInfo(file).Length;
        SnapshotLoad load = await registry.BeginLoadAsync(name, bytes, LoadStep.Copying, maxCollections, ct).ConfigureAwait(false);
        return await StageAndLoadAsync(load, file, started, ct, staged => Task.Run(() => Copy(file, staged, load, ct), ct))
            .ConfigureAwait(false);
    }

    private async Task<SnapshotLoadResult> LoadUploadAsync(string name, SnapshotUpload upload, CancellationToken ct)
    {
        long started = Stopwatch.GetTimestamp();
        if (upload.TotalBytes < 1)
            throw new ArgumentException($"total_bytes must be at least 1, got {upload.TotalBytes}", "total_bytes");
        if (upload.Sha256.Length != SHA256.HashSizeInBytes)
            throw new ArgumentException($"sha256 must be {SHA256.HashSizeInBytes} bytes, got {upload.Sha256.Length}", "sha256");
        SnapshotLoad load = await registry.BeginLoadAsync(name, upload.TotalBytes, LoadStep.Receiving, maxCollections, ct)
            .ConfigureAwait(false);
        return await StageAndLoadAsync(load, "an upload", started, ct, staged => ReceiveAsync(upload, staged, load, ct))
            .ConfigureAwait(false);
    }

    private async Task<SnapshotLoadResult> StageAndLoadAsync(SnapshotLoad load, string source, long started, CancellationToken ct,
        Func<string, Task> stage)
    {
        string? staging = null;
        long reserved = 0;
        bool loaded = false;
        try
        {
            staging = registry.DataDirectory.NewStagingFolder(load.Name);
            string staged = DataDirectory.SnapshotPath(staging);
            await stage(staged).ConfigureAwait(false);
            (LoadedSnapshot snapshot, reserved) = await Task.Run(() => VerifyAndBuild(load, staged, ct), ct).ConfigureAwait(false);
            CollectionStatus status;
            try
            {
                ct.ThrowIfCancellationRequested();
                status = await registry.CompleteLoadAsync(load, staging, snapshot, source, DateTime.UtcNow - Stopwatch.GetElapsedTime(started), ct)
                    .ConfigureAwait(false);
            }
            catch
            {
                snapshot.Index.Dispose();
                throw;
            }
            loaded = true;
            logger.LogInformation("Collection {Name}: {Bytes} bytes loaded from {Source} ({Steps})", load.Name, load.TotalBytes, source,
                load.StepDurations());
            return new SnapshotLoadResult(status, load.TotalBytes, Stopwatch.GetElapsedTime(started));
        }
        catch (Exception e) when (e is SnapshotFormatException)
        {
            throw new InvalidSnapshotException($"the snapshot from {source} is damaged: {e.Message}; nothing was kept", e);
        }
        catch (Exception e)
        {
            logger.LogWarning("Loading collection {Name} from {Source} failed ({Reason}); nothing of it is kept", load.Name, source, e.Message);
            throw;
        }
        finally
        {
            if (reserved > 0)
                memory?.Release(reserved, applied: loaded);
            if (!loaded)
            {
                if (staging is not null && Directory.Exists(staging))
                    Directory.Delete(staging, recursive: true);
                registry.AbandonLoad(load);
            }
        }
    }

    /// <summary>Copies the import file into the staging folder, counting the bytes as progress, and flushes the copy.</summary>
    private static void Copy(string file, string staged, SnapshotLoad load, CancellationToken ct)
    {
        using var input = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0, FileOptions.SequentialScan);
        using var output = new FileStream(staged, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 0);
        byte[] buffer = new byte[CopyBufferBytes];
        int read;
        while ((read = input.Read(buffer)) > 0)
        {
            ct.ThrowIfCancellationRequested();
            output.Write(buffer, 0, read);
            load.Advance(read);
        }
        output.Flush(flushToDisk: true);
    }

    /// <summary>Writes an upload's chunks to the staging folder as they arrive, hashing them, and checks the size and the
    /// SHA-256 against the header.</summary>
    private static async Task ReceiveAsync(SnapshotUpload upload, string staged, SnapshotLoad load, CancellationToken ct)
    {
        await using var output = new FileStream(staged, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 0,
            FileOptions.Asynchronous);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long received = 0;
        await foreach (ReadOnlyMemory<byte> chunk in upload.Chunks.WithCancellation(ct).ConfigureAwait(false))
        {
            if (received + chunk.Length > upload.TotalBytes)
                throw new InvalidSnapshotException(
                    $"the upload sent more than the {upload.TotalBytes} bytes its header announced (total_bytes); nothing was kept");
            hash.AppendData(chunk.Span);
            await output.WriteAsync(chunk, ct).ConfigureAwait(false);
            received += chunk.Length;
            load.Advance(chunk.Length);
        }
        if (received != upload.TotalBytes)
            throw new InvalidSnapshotException(
                $"the upload ended after {received} of the {upload.TotalBytes} bytes its header announced (total_bytes); nothing was kept");
        byte[] actual = hash.GetHashAndReset();
        if (!CryptographicOperations.FixedTimeEquals(actual, upload.Sha256))
            throw new InvalidSnapshotException(
                $"the SHA-256 of the {received} bytes received is {Convert.ToHexStringLower(actual)}, the header's sha256 is " +
                $"{Convert.ToHexStringLower(upload.Sha256)}: the file was damaged or changed on the way; nothing was kept");
        output.Flush(flushToDisk: true);
    }

    /// <summary>Reads every checksum of the staged copy, reserves the index's memory, and builds the index (checksums
    /// not read again). Returns the bytes reserved, which the caller releases.</summary>
    private (LoadedSnapshot Snapshot, long Reserved) VerifyAndBuild(SnapshotLoad load, string staged, CancellationToken ct)
    {
        load.Enter(LoadStep.Verifying);
        SnapshotInfo info = Snapshot.ReadInfo(staged);
        if (!info.AllChecksumsValid)
        {
            string damaged = string.Join(", ", info.Sections.Where(s => !s.ChecksumValid).Select(s => s.Name));
            throw new InvalidSnapshotException(
                $"the snapshot for collection '{load.Name}' is damaged: the checksum of section(s) {damaged} does not match; nothing was kept");
        }
        ct.ThrowIfCancellationRequested();
        long bytes = MemoryEstimate.UpsertBytes(info.Dimension, info.M, info.Quantization, 0, info.NodeCount);
        if (memory is not null && !memory.TryReserve(bytes, out long used))
            throw new LimitExceededException(
                $"the server's memory budget is {memory.BudgetBytes} bytes (--memory-budget-bytes) and its collections hold about {used}; " +
                $"this snapshot ({info.NodeCount} points of dimension {info.Dimension}) needs about {bytes} more; nothing was loaded");
        try
        {
            load.Enter(LoadStep.Building);
            // On one core: the server goes on searching its other collections meanwhile, on the others.
            LoadedSnapshot snapshot = registry.LoadStaged(staged, verifyChecksums: false, threads: 1);
            if (ct.IsCancellationRequested)
            {
                snapshot.Index.Dispose();
                ct.ThrowIfCancellationRequested();
            }
            return (snapshot, bytes);
        }
        catch
        {
            memory?.Release(bytes, applied: false);
            throw;
        }
    }
}
