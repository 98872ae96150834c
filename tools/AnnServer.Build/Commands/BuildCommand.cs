using System.CommandLine;
using System.Diagnostics;
using AnnServer.Build.Progress;
using AnnServer.Core;
using AnnServer.Core.Payloads;
using AnnServer.Core.Snapshots;
using AnnServer.Datasets;
using AnnServer.Core.Sharding;

namespace AnnServer.Build.Commands;

/// <summary><c>ann-build build</c>: read vectors (and ids, labels, payloads), build an HNSW index, save it as a snapshot.</summary>
internal static class BuildCommand
{
    public static Command Create(ToolConsole console)
    {
        var input = new Option<string>("--input", "-i") { Description = "Vectors to index: .fvecs, .bvecs, IDX (raw or .gz), .npy (float32 or float16), ann-benchmarks .hdf5, "
            + ".parquet, or a folder of Parquet part files (part-*.parquet, as Spark writes them)", Required = true };
        var format = CommonOptions.Format();
        var dataset = CommonOptions.Dataset();
        var metric = CommonOptions.Metric();
        var m = new Option<int>("--m") { Description = $"Links per node on upper levels, 2·M on level 0 ({HnswOptions.MinM}..{HnswOptions.MaxM})", DefaultValueFactory = _ => 16 };
        var efConstruction = new Option<int>("--ef-construction") { Description = $"Candidate list size while building (1..{HnswOptions.MaxEfConstruction})", DefaultValueFactory = _ => 200 };
        var threads = CommonOptions.Threads();
        var output = new Option<string>("--output", "-o") { Description = "Snapshot file to write (replaced atomically)", Required = true };
        var ids = new Option<string?>("--ids") { Description = "One id per row: a text file with one int64 per line, or an int64 .npy array (default: the row number); not for Parquet, which has --id-column" };
        var vectorColumn = new Option<string?>("--vector-column") { Description = "For Parquet input: the column of vectors, a list (or fixed_size_list) of float, double or float16", HelpName = "name" };
        var idColumn = new Option<string?>("--id-column") { Description = "For Parquet input: the int64 or int32 column of ids, unique (default: the row number across all parts)", HelpName = "name" };
        var labels = new Option<string?>("--labels") { Description = "One line per row of comma-separated int32 labels (an empty line: no labels)" };
        var labelsField = new Option<string?>("--labels-field")
        {
            Description = "Store the --labels file as this int64-list payload field instead of as labels (an empty line: the field is absent)",
            HelpName = "field",
        };
        var payloadColumns = new Option<string[]>("--payload-column")
        {
            Description = "For Parquet input: a column read into a payload field (repeatable): string → keyword, list<string> → keyword list, "
                + "int8..int64/uint8..uint32 → int64, list of those → int64 list, float/double → double, bool → bool; null → field absent",
            HelpName = "column[:field]",
            AllowMultipleArgumentsPerToken = false,
        };
        var allColumnsAsPayload = new Option<bool>("--all-columns-as-payload")
        {
            Description = "For Parquet input: every column but the vector and id columns becomes the payload field of its own name",
        };
        var sourcePosition = new Option<string?>("--source-position")
        {
            Description = $"The upstream position the input was taken as of (a Kafka offset map, a timestamp; opaque, at most {Snapshot.MaxSourcePositionBytes} bytes), "
                + "kept in the snapshot so a pipeline knows from where to replay updates",
            HelpName = "text",
        };
        var valueLinks = new Option<string[]>("--value-links")
        {
            Description = $"Link the points of each value of this keyword payload field among themselves (repeatable, at most {HnswIndex.MaxLinkedFields}): "
                + "filters on it keep their recall where its points lie away from the query; (1 + 2·M)·4 bytes a point, "
                + "about one filtered search a point after the build; the snapshot carries the links and the setting",
            HelpName = "field",
            AllowMultipleArgumentsPerToken = false,
        };
        var skipInvalid = new Option<bool>("--skip-invalid") { Description = "Skip and count rows of the wrong dimension or with NaN/infinite values (with Parquet, also null vectors, null or duplicate ids) instead of failing" };
        var seed = new Option<int>("--seed") { Description = "Seed of the random level generator", DefaultValueFactory = _ => 100 };
        var quantization = new Option<string>("--quantization")
        {
            Description = "none, int8: search on int8 codes (a quarter of the bytes), or int4: on 4-bit codes (about 0.15x the bytes); both re-rank with float32",
            DefaultValueFactory = _ => "none",
        };
        quantization.AcceptOnlyFromAmong("none", "int8", "int4");
        var reorder = new Option<string>("--reorder")
        {
            Description = "After the build, renumber the nodes so that linked ones lie near each other in memory: none, bfs "
                + "(breadth-first) or rcm (reverse Cuthill-McKee over the level-0 links); the snapshot format is the same. "
                + "Faster searches on large indexes (bench/results/catalogue.md); needs the memory of a second index for a moment",
            DefaultValueFactory = _ => "none",
        };
        reorder.AcceptOnlyFromAmong("none", "bfs", "rcm");
        var shards = new Option<int>("--shards")
        {
            Description = $"Split into this many shard snapshots by the cluster's rule, xxHash64(id) mod shards: --output out.snap "
                + $"writes out.shard-0-of-S.snap ... (1..{ShardedBuild.MaxShards}; default 0: one unsharded snapshot)",
            DefaultValueFactory = _ => 0,
        };

        var command = new Command("build", "Build an HNSW index from a vector file and save it as a snapshot")
        {
            input, format, dataset, vectorColumn, idColumn, payloadColumns, allColumnsAsPayload, metric, m, efConstruction, threads, output, ids, labels,
            labelsField, skipInvalid, seed, quantization, shards, sourcePosition, valueLinks, reorder,
        };
        command.SetAction((parse, cancellationToken) => Task.FromResult(CommandRunner.Execute(console, () => Run(console, new Settings(
            parse.GetRequiredValue(input),
            CommonOptions.ParseFormat("--format", parse.GetValue(format)),
            parse.GetValue(dataset),
            CommonOptions.ParseMetric(parse.GetRequiredValue(metric)),
            parse.GetValue(m),
            parse.GetValue(efConstruction),
            CommonOptions.CheckThreads(parse.GetValue(threads)),
            parse.GetRequiredValue(output),
            parse.GetValue(ids),
            parse.GetValue(labels),
            parse.GetValue(skipInvalid),
            parse.GetValue(seed),
            parse.GetValue(quantization) switch { "int8" => VectorQuantization.Int8, "int4" => VectorQuantization.Int4, _ => VectorQuantization.None },
            parse.GetValue(shards),
            parse.GetValue(vectorColumn),
            parse.GetValue(idColumn))
        {
            PayloadColumns = parse.GetValue(payloadColumns) ?? [],
            AllColumnsAsPayload = parse.GetValue(allColumnsAsPayload),
            LabelsField = parse.GetValue(labelsField),
            SourcePosition = parse.GetValue(sourcePosition),
            ValueLinks = parse.GetValue(valueLinks) ?? [],
            Reorder = ParseOrdering(parse.GetValue(reorder)),
        }, cancellationToken), offersSkipInvalid: true)));
        return command;
    }

    internal sealed record Settings(string Input, VectorFormat? Format, string? Dataset, DistanceMetric Metric, int M, int EfConstruction,
        int Threads, string Output, string? Ids, string? Labels, bool SkipInvalid, int Seed, VectorQuantization Quantization, int Shards,
        string? VectorColumn = null, string? IdColumn = null)
    {
        /// <summary>--payload-column values as typed: "column" or "column:field".</summary>
        public IReadOnlyList<string> PayloadColumns { get; init; } = [];
        public bool AllColumnsAsPayload { get; init; }
        public string? LabelsField { get; init; }
        public string? SourcePosition { get; init; }
        /// <summary>--value-links: keyword fields whose values' points are linked after the build (HnswIndex.LinkValues).</summary>
        public IReadOnlyList<string> ValueLinks { get; init; } = [];

        /// <summary>The node order the snapshot is written in (<see cref="HnswIndex.Reordered"/>); null: insertion order.</summary>
        public NodeOrdering? Reorder { get; init; }
    }

    /// <summary>
    /// Each --value-links field must be a keyword field some point has: refused before the build, which a typo would
    /// otherwise waste (the engine would link an empty field).
    /// </summary>
    private static void CheckValueLinkFields(IReadOnlyList<string> fields, PointSet points)
    {
        foreach (string field in fields)
        {
            PayloadKind? kind = null;
            if (points.Payloads is { } payloads)
                foreach (Payload? payload in payloads)
                    if (payload is not null && payload.TryGetValue(field, out PayloadValue value))
                    {
                        kind = value.Kind;
                        break;
                    }
            if (kind is null)
                throw new UsageException($"--value-links {field}: no point has a payload field '{field}' (give it with --payload-column or --labels-field)");
            if (kind != PayloadKind.Keyword)
                throw new UsageException($"--value-links {field}: field '{field}' holds {PayloadKindName(kind.Value)} values; only a keyword field can be linked");
        }
    }

    /// <summary>Links the --value-links fields once every point is in: each point then finds its value's true nearest,
    /// where linking as points arrive would give the first points of a value only the few before them.</summary>
    internal static void LinkValues(ProgressDisplay display, HnswIndex index, Settings settings)
    {
        foreach (string field in settings.ValueLinks)
            display.Run($"link {field}", 0, "", _ => index.LinkValues(field, settings.Threads));
    }

    private static NodeOrdering? ParseOrdering(string? name) => name switch
    {
        "bfs" => NodeOrdering.BreadthFirst,
        "rcm" => NodeOrdering.ReverseCuthillMcKee,
        _ => null,
    };

    private static int Run(ToolConsole console, Settings settings, CancellationToken cancellationToken)
    {
        // Everything that can be checked without reading the data is checked first.
        CommonOptions.CheckRange("--m", settings.M, HnswOptions.MinM, HnswOptions.MaxM);
        CommonOptions.CheckRange("--ef-construction", settings.EfConstruction, 1, HnswOptions.MaxEfConstruction);
        if (settings.Shards is < 0 or > ShardedBuild.MaxShards)
            throw new UsageException($"--shards must be between 1 and {ShardedBuild.MaxShards} (or 0 for one unsharded snapshot), got {settings.Shards}");
        if (settings.SourcePosition is not null)
        {
            try
            {
                Snapshot.ValidateSourcePosition(settings.SourcePosition, "--source-position");
            }
            catch (ArgumentException e)
            {
                throw new UsageException(e.Message.Split(" (Parameter", 2)[0]);
            }
        }
        if (settings.LabelsField is not null)
        {
            if (settings.Labels is null) throw new UsageException("--labels-field names the payload field for the --labels file; give --labels too");
            ParsePayloadColumn("--labels-field", settings.LabelsField);
        }
        if (settings.ValueLinks.Count > HnswIndex.MaxLinkedFields)
            throw new UsageException($"--value-links is given {settings.ValueLinks.Count} times; at most {HnswIndex.MaxLinkedFields} fields can be linked");
        if (settings.ValueLinks.Distinct().Count() != settings.ValueLinks.Count)
            throw new UsageException("--value-links names a field twice");
        AtomicOutputFile.CheckPath("--output", settings.Output, settings.Input, settings.Ids, settings.Labels);
        for (int shard = 0; shard < settings.Shards; shard++)
            AtomicOutputFile.CheckPath("--output", ShardFileNames.For(settings.Output, shard, settings.Shards), settings.Input, settings.Ids, settings.Labels);
        var display = ProgressDisplay.For(console);
        var clock = Stopwatch.StartNew();

        // Told here rather than by VectorReader.Open, because the format decides which options apply; a missing or empty
        // input is left to Open, whose messages say so.
        VectorFormat? format = settings.Format;
        if (format is null && (Directory.Exists(settings.Input) || File.Exists(settings.Input) && new FileInfo(settings.Input).Length > 0))
            format = VectorFormats.Detect(settings.Input);
        ParquetColumns? parquetColumns = null;
        if (format == VectorFormat.Parquet)
        {
            if (settings.Ids is not null)
                throw new UsageException("--ids is for the other formats; with Parquet input name the id column with --id-column");
            if (settings.VectorColumn is null)
                throw new UsageException($"--vector-column is required with Parquet input: name the column of {settings.Input} that holds the vectors "
                    + $"(its columns are {ParquetVectorReader.DescribeColumns(settings.Input)})");
            var payload = settings.PayloadColumns.Select(text => ParsePayloadColumn("--payload-column", text)).ToList();
            foreach (var group in payload.GroupBy(p => p.Field).Where(g => g.Count() > 1))
                throw new UsageException($"--payload-column: field '{group.Key}' is filled by {string.Join(" and ", group.Select(p => $"'{p.Column}'"))}; give each a field of its own (column:field)");
            if (settings.LabelsField is not null && payload.Any(p => p.Field == settings.LabelsField))
                throw new UsageException($"--labels-field '{settings.LabelsField}' is also filled by --payload-column; give the labels another field");
            parquetColumns = new ParquetColumns(settings.VectorColumn, settings.IdColumn)
            {
                Payload = payload,
                AllOtherColumnsAsPayload = settings.AllColumnsAsPayload,
            };
        }
        else if (settings.VectorColumn is not null || settings.IdColumn is not null || settings.PayloadColumns.Count > 0 || settings.AllColumnsAsPayload)
            throw new UsageException($"--vector-column, --id-column, --payload-column and --all-columns-as-payload are for Parquet input; {settings.Input} is {(format is { } f ? CommonOptions.FormatName(f) : "not")}");

        long[]? idsPerRow = settings.Ids is null ? null : IdsFile.Read(settings.Ids);
        int[][]? labelsPerRow = settings.Labels is null ? null : LabelsFile.Read(settings.Labels);
        using var reader = VectorReader.Open(settings.Input, format, settings.Dataset, parquetColumns);
        if (reader.ExpectedRowsAreExact)
            PointSet.CheckLengths(reader.ExpectedRows, idsPerRow, labelsPerRow, settings.Input, settings.Ids, settings.Labels);
        var options = new HnswOptions
        {
            Dimension = reader.Dimension,
            Metric = settings.Metric,
            M = settings.M,
            EfConstruction = settings.EfConstruction,
            RandomSeed = settings.Seed,
            Quantization = settings.Quantization,
        };
        try
        {
            options.Validate();
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"{settings.Input}: {e.Message}");
        }
        console.Out.WriteLine($"reading {settings.Input} ({CommonOptions.FormatName(reader.Format)}, {HumanFormat.Count(reader.ExpectedRows)} rows × {reader.Dimension})");

        if (reader.Format == VectorFormat.Hdf5 && AnnBenchmarksHdf5.ReadDistanceAttribute(settings.Input) is { } distance
            && CommonOptions.TryParseMetric(distance) != settings.Metric)
            console.Out.WriteLine($"note: {settings.Input} says its distance is '{distance}'; building with --metric {CommonOptions.MetricName(settings.Metric)} as asked");

        var loadOptions = new VectorLoadOptions { SkipInvalid = settings.SkipInvalid };
        var loaded = display.Run("read", reader.ExpectedRows, "rows", progress => VectorLoader.Load(reader, loadOptions, progress, cancellationToken));
        if (reader is ParquetVectorReader { IdsPerRow: { } parquetIds }) idsPerRow = [.. parquetIds];
        var payloadsPerRow = (reader as ParquetVectorReader)?.PayloadsPerRow;
        if (settings.LabelsField is not null)
        {
            PointSet.CheckLengths(loaded.SourceRows, null, labelsPerRow, settings.Input, null, settings.Labels);
            payloadsPerRow = LabelsAsPayload(labelsPerRow!, settings.LabelsField, payloadsPerRow, settings.Labels!);
            labelsPerRow = null;
        }
        var points = PointSet.Create(loaded, idsPerRow, labelsPerRow, settings.Input, settings.Ids, settings.Labels, payloadsPerRow);
        var readTime = clock.Elapsed;
        if (loaded.SkippedRows.Count > 0)
            console.Out.WriteLine($"skipped {HumanFormat.Count(loaded.SkippedRows.Count)} invalid rows ({HumanFormat.Count(loaded.SkippedWrongDimension)} of the wrong dimension, "
                + $"{HumanFormat.Count(loaded.SkippedNonFinite)} with NaN or infinite values"
                + (loaded.Format == VectorFormat.Parquet ? $", {HumanFormat.Count(loaded.SkippedNull)} with a null vector or id, {HumanFormat.Count(loaded.SkippedDuplicateId)} with a duplicate id" : "")
                + (parquetColumns?.ReadsPayload == true ? $", {HumanFormat.Count(loaded.SkippedInvalidPayload)} with an invalid payload value" : "")
                + $"); the first is row {loaded.SkippedRows[0]}");

        CheckValueLinkFields(settings.ValueLinks, points);
        if (settings.Shards > 0)
            return ShardedBuild.Run(console, display, settings, options, points, clock, readTime, cancellationToken);

        using var built = new HnswIndex(options) { SourcePosition = settings.SourcePosition };
        var vectors = points.Vectors;
        display.Run("build", vectors.Count, "vectors", progress =>
            built.UpsertMany(vectors.Data, points.Ids, points.Labels, points.Payloads, settings.Threads, new IntProgress(progress), cancellationToken));
        LinkValues(display, built, settings);
        var buildTime = clock.Elapsed - readTime;
        using var reordered = settings.Reorder is { } ordering ? display.Run("reorder", 0, "", _ => built.Reordered(ordering)) : null;
        var index = reordered ?? built;
        var reorderTime = clock.Elapsed - readTime - buildTime;

        using (var output = new AtomicOutputFile(settings.Output))
        {
            display.Run("save", 0, "", _ => Snapshot.Save(index, output.TempPath));
            output.Commit();
        }
        var saveTime = clock.Elapsed - readTime - buildTime - reorderTime;

        long fileSize = new FileInfo(settings.Output).Length;
        int threadsUsed = settings.Threads == 0 ? Environment.ProcessorCount : settings.Threads;
        var o = console.Out;
        o.WriteLine($"built {settings.Output}");
        o.WriteLine($"  points       {HumanFormat.Count(index.Count)} ({HumanFormat.Count(loaded.SkippedRows.Count)} invalid rows skipped)");
        o.WriteLine($"  dimension    {index.Dimension}");
        o.WriteLine($"  index        {CommonOptions.MetricName(settings.Metric)}, M {settings.M}, efConstruction {settings.EfConstruction}, {threadsUsed} threads");
        WritePayloadSummary(o, points);
        if (settings.SourcePosition is not null) o.WriteLine($"  source       {settings.SourcePosition}");
        if (settings.ValueLinks.Count > 0) o.WriteLine($"  value links  {string.Join(", ", settings.ValueLinks)}");
        o.WriteLine($"  read         {HumanFormat.Seconds(readTime)} ({HumanFormat.Rate(loaded.SourceRows / readTime.TotalSeconds)} rows/s)");
        o.WriteLine($"  build        {HumanFormat.Seconds(buildTime)} ({HumanFormat.Rate(vectors.Count / buildTime.TotalSeconds)} vectors/s)");
        if (settings.Reorder is not null) o.WriteLine($"  reorder      {HumanFormat.Seconds(reorderTime)}");
        o.WriteLine($"  save         {HumanFormat.Seconds(saveTime)}");
        o.WriteLine($"  total        {HumanFormat.Seconds(clock.Elapsed)}");
        o.WriteLine($"  file size    {HumanFormat.Bytes(fileSize)} ({HumanFormat.Count(fileSize / Math.Max(1, index.Count))} bytes per vector)");
        o.WriteLine($"  peak memory  {HumanFormat.Bytes(Process.GetCurrentProcess().PeakWorkingSet64)}");
        return ExitCodes.Success;
    }

    private static ParquetPayloadColumn ParsePayloadColumn(string option, string text)
    {
        try
        {
            return ParquetPayloadColumn.Parse(text);
        }
        catch (ArgumentException e)
        {
            throw new UsageException($"{option}: {e.Message}");
        }
    }

    /// <summary>
    /// The labels file as an int64-list payload field: each row's payload gains the field (a row with no labels, none),
    /// beside the payload columns read from the input.
    /// </summary>
    /// <remarks>int64 list rather than keyword list: labels are numbers, a filter matches them with an integer match, and
    /// a number costs 8 bytes where a keyword costs a dictionary code and an entry.</remarks>
    private static Payload?[] LabelsAsPayload(int[][] labelsPerRow, string field, IReadOnlyList<Payload?>? payloadsPerRow, string labelsPath)
    {
        var payloads = new Payload?[labelsPerRow.Length];
        for (int row = 0; row < labelsPerRow.Length; row++)
        {
            Payload? payload = payloadsPerRow?[row];
            int[] labels = labelsPerRow[row];
            if (labels.Length > PayloadLimits.MaxListLength)
                throw new InvalidDataException($"{labelsPath}: line {row + 1} has {labels.Length} labels, more than a payload list holds ({PayloadLimits.MaxListLength}, PayloadLimits.MaxListLength)");
            if (labels.Length > 0)
            {
                if (payload is not null && payload.TryGetValue(field, out _))
                    throw new InvalidDataException($"--labels-field '{field}' is also a payload column of the input; give the labels another field");
                payload = payload is null ? new Payload() : new Payload(payload);
                payload.Add(field, PayloadValue.Int64s(Array.ConvertAll(labels, label => (long)label)));
            }
            payloads[row] = payload;
        }
        return payloads;
    }

    /// <summary>"payload      category (keyword) 9,800 points, ..." : each field and how many points have it.</summary>
    internal static void WritePayloadSummary(TextWriter o, PointSet points)
    {
        if (points.Payloads is null) return;
        var counts = new Dictionary<string, (PayloadKind Kind, int Points)>(StringComparer.Ordinal);
        var order = new List<string>();
        foreach (var payload in points.Payloads)
        {
            if (payload is null) continue;
            foreach (var (name, value) in payload)
            {
                if (!counts.TryGetValue(name, out var seen)) order.Add(name);
                counts[name] = (value.Kind, seen.Points + 1);
            }
        }
        if (order.Count == 0)
        {
            o.WriteLine("  payload      none (every payload value is null)");
            return;
        }
        o.WriteLine($"  payload      {string.Join(", ", order.Select(name => $"{name} ({PayloadKindName(counts[name].Kind)}, {HumanFormat.Count(counts[name].Points)} points)"))}");
    }

    public static string PayloadKindName(PayloadKind kind) => kind switch
    {
        PayloadKind.Keyword => "keyword",
        PayloadKind.KeywordList => "keyword list",
        PayloadKind.Int64 => "int64",
        PayloadKind.Int64List => "int64 list",
        PayloadKind.Double => "double",
        PayloadKind.Bool => "bool",
        _ => kind.ToString(),
    };
}
