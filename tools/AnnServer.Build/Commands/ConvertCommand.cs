using System.CommandLine;
using AnnServer.Build.Progress;
using AnnServer.Datasets;

namespace AnnServer.Build.Commands;

/// <summary><c>ann-build convert</c>: any input format to .fvecs (streamed row by row), or an HDF5 integer dataset
/// such as <c>neighbors</c> to .ivecs, so every tool of the project can read one common format.</summary>
internal static class ConvertCommand
{
    public static Command Create(ToolConsole console)
    {
        var input = new Option<string>("--input", "-i") { Description = "File to convert: IDX (raw or .gz), .npy, ann-benchmarks .hdf5, .fvecs, .bvecs", Required = true };
        var format = CommonOptions.Format();
        var dataset = CommonOptions.Dataset();
        var output = new Option<string>("--output", "-o") { Description = "File to write: .fvecs (vectors) or .ivecs (the HDF5 neighbors dataset)", Required = true };
        var skipInvalid = new Option<bool>("--skip-invalid") { Description = "Skip and count rows of the wrong dimension or with NaN/infinite values instead of failing" };

        var command = new Command("convert", "Convert vectors to .fvecs (and HDF5 neighbour ids to .ivecs)") { input, format, dataset, output, skipInvalid };
        command.SetAction((parse, cancellationToken) => Task.FromResult(CommandRunner.Execute(console, () => Run(console,
            parse.GetRequiredValue(input), CommonOptions.ParseFormat("--format", parse.GetValue(format)), parse.GetValue(dataset),
            parse.GetRequiredValue(output), parse.GetValue(skipInvalid), cancellationToken), offersSkipInvalid: true)));
        return command;
    }

    private static int Run(ToolConsole console, string inputPath, VectorFormat? format, string? dataset, string outputPath,
        bool skipInvalid, CancellationToken cancellationToken)
    {
        AtomicOutputFile.CheckPath("--output", outputPath, inputPath);
        if (!File.Exists(inputPath)) throw new FileNotFoundException($"{inputPath} does not exist", inputPath);
        var actual = format ?? VectorFormats.Detect(inputPath);
        if (actual == VectorFormat.Hdf5 && AnnBenchmarksHdf5.IsIntegerDataset(inputPath, dataset ?? AnnBenchmarksHdf5.Train))
            return ConvertIds(console, inputPath, dataset ?? AnnBenchmarksHdf5.Train, outputPath);

        CommonOptions.CheckExtension("--output", outputPath, ".fvecs", "convert writes TEXMEX float vectors");
        var display = ProgressDisplay.For(console);
        using var reader = VectorReader.Open(inputPath, actual, dataset);
        console.Out.WriteLine($"converting {inputPath} ({CommonOptions.FormatName(reader.Format)}, {HumanFormat.Count(reader.ExpectedRows)} rows × {reader.Dimension})");
        var validator = new RowValidator(inputPath, reader.Dimension, skipInvalid);
        long written;
        using (var output = new AtomicOutputFile(outputPath))
        {
            using (var stream = output.Create())
            using (var writer = new FvecsWriter(stream, leaveOpen: true))
            {
                written = display.Run("convert", reader.ExpectedRows, "rows", progress => Copy(reader, validator, writer, progress, cancellationToken));
                writer.Flush();
                stream.Flush(flushToDisk: true);
            }
            if (reader.RowsRead == 0) throw new InvalidDataException($"{inputPath}: the file holds no vectors");
            if (written == 0) throw new InvalidDataException($"{inputPath}: all {reader.RowsRead} rows are invalid and were skipped");
            output.Commit();
        }

        console.Out.WriteLine($"wrote {outputPath}: {HumanFormat.Count(written)} rows × {reader.Dimension}"
            + (validator.SkippedRows.Count > 0 ? $" ({HumanFormat.Count(validator.SkippedRows.Count)} invalid rows skipped, the first is row {validator.SkippedRows[0]})" : ""));
        return ExitCodes.Success;
    }

    private static long Copy(VectorReader reader, RowValidator validator, FvecsWriter writer, IProgress<long> progress, CancellationToken cancellationToken)
    {
        var row = new float[reader.Dimension];
        long rowNumber = 0;
        while (reader.TryReadRow(row, out int rowDimension))
        {
            if (validator.Accept(rowNumber, rowDimension, row)) writer.WriteRow(row);
            rowNumber++;
            if (rowNumber % 1024 == 0)
            {
                progress.Report(rowNumber);
                cancellationToken.ThrowIfCancellationRequested();
            }
        }
        progress.Report(rowNumber);
        return writer.RowsWritten;
    }

    private static int ConvertIds(ToolConsole console, string inputPath, string dataset, string outputPath)
    {
        CommonOptions.CheckExtension("--output", outputPath, ".ivecs", $"dataset '{dataset}' holds integer ids");
        var rows = AnnBenchmarksHdf5.ReadNeighbors(inputPath, dataset);
        if (rows.Length == 0) throw new InvalidDataException($"{inputPath}: dataset '{dataset}' is empty");
        using (var output = new AtomicOutputFile(outputPath))
        {
            using (var stream = output.Create())
            {
                Texmex.WriteIvecs(stream, rows);
                stream.Flush(flushToDisk: true);
            }
            output.Commit();
        }
        console.Out.WriteLine($"wrote {outputPath}: {HumanFormat.Count(rows.Length)} rows × {rows[0].Length} ids from dataset '{dataset}'");
        return ExitCodes.Success;
    }
}
