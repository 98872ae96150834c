using System.CommandLine;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using AnnServer.Datasets;
using AnnServer.Harness.Results;
using AnnServer.Protocol.V1;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;

namespace AnnServer.Harness.Cli;

/// <summary>
/// `ann-bench admin`: the collection calls a daily refresh needs, one per verb, for scripts and the README's worked
/// example (any gRPC client can make them; this one needs nothing but the repository). Each prints one line, or the
/// aliases; a refused call prints the status and the server's message and exits 1. With --json FILE, each also writes
/// when its call started and was answered (Unix ms, so a benchmark can place the call on `ann-bench load --timeline`),
/// and, for a load or an upload, the file's size, the server's and the client's time and the collection's state.
/// </summary>
public static class AdminCommand
{
    public static Command Create()
    {
        var target = new Option<string>("--target") { Description = "server address", DefaultValueFactory = _ => "http://127.0.0.1:50051", Recursive = true };
        var apiKey = new Option<string?>("--api-key") { Description = "sent as authorization: Bearer KEY (admin for changes)", Recursive = true };
        var json = new Option<string?>("--json")
        {
            Description = "also write the call's timing (Unix ms it started and was answered) and, for a load or upload, its figures to this JSON file",
            Recursive = true,
        };
        var command = new Command("admin", "Collection and alias calls on a running server: load or upload a snapshot, upsert an fvecs file, aliases, info, drop")
        {
            target, apiKey, json,
        };

        var name = new Option<string>("--name") { Description = "the new collection", Required = true };
        var path = new Option<string>("--path") { Description = "the snapshot file, relative to the server's --import-dir", Required = true };
        var loadSnapshot = new Command("load-snapshot", "Load a snapshot file of the server's --import-dir as a new collection") { name, path };
        loadSnapshot.SetAction((parse, ct) => RunAsync(parse, target, apiKey, json, async (client, _, record) =>
        {
            LoadSnapshotResponse loaded = await client.LoadSnapshotAsync(new LoadSnapshotRequest { Name = parse.GetValue(name)!, Path = parse.GetValue(path)! },
                cancellationToken: ct);
            RecordLoad(record, loaded);
            Console.WriteLine($"loaded {loaded.Info.Name}: {loaded.Info.Count} points, {loaded.Bytes} bytes in {loaded.DurationMicros / 1e6:F2} s " +
                              $"({loaded.Bytes / 1e6 / Math.Max(loaded.DurationMicros / 1e6, 1e-9):F0} MB/s)");
        }));
        command.Subcommands.Add(loadSnapshot);

        var file = new Option<string>("--file") { Description = "the snapshot file to send", Required = true };
        var chunkBytes = new Option<int>("--chunk-bytes") { Description = "bytes per message", DefaultValueFactory = _ => 1 << 20 };
        var uploadSnapshot = new Command("upload-snapshot", "Send a snapshot file to the server, in chunks, as a new collection") { name, file, chunkBytes };
        uploadSnapshot.SetAction((parse, ct) => RunAsync(parse, target, apiKey, json, async (client, _, record) =>
        {
            LoadSnapshotResponse loaded = await UploadAsync(client, parse.GetValue(name)!, parse.GetValue(file)!, parse.GetValue(chunkBytes), record, ct);
            RecordLoad(record, loaded);
            Console.WriteLine($"uploaded {loaded.Info.Name}: {loaded.Info.Count} points, {loaded.Bytes} bytes in {loaded.DurationMicros / 1e6:F2} s " +
                              $"({loaded.Bytes / 1e6 / Math.Max(loaded.DurationMicros / 1e6, 1e-9):F0} MB/s)");
        }));
        command.Subcommands.Add(uploadSnapshot);

        var collection = new Option<string>("--collection") { Description = "a collection (or an alias of one)", Required = true };
        var vectors = new Option<string>("--vectors") { Description = "vectors to upsert (.fvecs)", Required = true };
        var firstId = new Option<long>("--first-id") { Description = "id of the first vector; the next ones follow", DefaultValueFactory = _ => 0 };
        var batch = new Option<int>("--batch") { Description = "points per Upsert call", DefaultValueFactory = _ => 500 };
        var upsert = new Command("upsert", "Upsert the vectors of an .fvecs file with consecutive ids (replaying updates)") { collection, vectors, firstId, batch };
        upsert.SetAction((parse, ct) => RunAsync(parse, target, apiKey, json, async (client, vectorClient) =>
        {
            VectorSet set = Texmex.ReadFvecs(parse.GetValue(vectors)!);
            int size = Math.Max(1, parse.GetValue(batch));
            long first = parse.GetValue(firstId);
            for (int start = 0; start < set.Count; start += size)
            {
                var request = new UpsertRequest { Collection = parse.GetValue(collection)! };
                for (int row = start; row < Math.Min(set.Count, start + size); row++)
                {
                    var point = new Point { Id = first + row };
                    point.Vector.Add(set.Data.AsSpan(row * set.Dimension, set.Dimension).ToArray());
                    request.Points.Add(point);
                }
                await vectorClient.UpsertAsync(request, cancellationToken: ct);
            }
            Console.WriteLine($"upserted {set.Count} points into {parse.GetValue(collection)}, ids {first} to {first + set.Count - 1}");
        }));
        command.Subcommands.Add(upsert);

        var alias = new Option<string>("--alias") { Description = "the alias", Required = true };
        var createAlias = new Command("create-alias", "Make an alias of a collection") { alias, collection };
        createAlias.SetAction((parse, ct) => RunAsync(parse, target, apiKey, json, async client =>
        {
            await client.CreateAliasAsync(new CreateAliasRequest { Alias = parse.GetValue(alias)!, Collection = parse.GetValue(collection)! }, cancellationToken: ct);
            Console.WriteLine($"alias {parse.GetValue(alias)} -> {parse.GetValue(collection)}");
        }));
        command.Subcommands.Add(createAlias);

        var expected = new Option<string?>("--expected") { Description = "switch only if the alias names this collection now (compare-and-set)" };
        var switchAlias = new Command("switch-alias", "Point an alias at another collection, atomically") { alias, collection, expected };
        switchAlias.SetAction((parse, ct) => RunAsync(parse, target, apiKey, json, async client =>
        {
            SwitchAliasResponse switched = await client.SwitchAliasAsync(new SwitchAliasRequest
            {
                Alias = parse.GetValue(alias)!, Collection = parse.GetValue(collection)!, ExpectedCollection = parse.GetValue(expected) ?? "",
            }, cancellationToken: ct);
            Console.WriteLine($"alias {parse.GetValue(alias)} -> {parse.GetValue(collection)} (was {switched.PreviousCollection})");
        }));
        command.Subcommands.Add(switchAlias);

        var deleteAlias = new Command("delete-alias", "Delete an alias (its collection stays)") { alias };
        deleteAlias.SetAction((parse, ct) => RunAsync(parse, target, apiKey, json, async client =>
        {
            await client.DeleteAliasAsync(new DeleteAliasRequest { Alias = parse.GetValue(alias)! }, cancellationToken: ct);
            Console.WriteLine($"deleted alias {parse.GetValue(alias)}");
        }));
        command.Subcommands.Add(deleteAlias);

        var listAliases = new Command("list-aliases", "Print every alias and its collection");
        listAliases.SetAction((parse, ct) => RunAsync(parse, target, apiKey, json, async client =>
        {
            foreach (Alias each in (await client.ListAliasesAsync(new ListAliasesRequest(), cancellationToken: ct)).Aliases)
                Console.WriteLine($"{each.Alias_} -> {each.Collection}");
        }));
        command.Subcommands.Add(listAliases);

        var info = new Command("info", "Print a collection's description (GetCollectionInfo)") { collection };
        info.SetAction((parse, ct) => RunAsync(parse, target, apiKey, json, async client =>
            Console.WriteLine(await client.GetCollectionInfoAsync(new GetCollectionInfoRequest { Name = parse.GetValue(collection)! }, cancellationToken: ct))));
        command.Subcommands.Add(info);

        var from = new Option<string>("--from") { Description = "the collection the alias names now", Required = true };
        var to = new Option<string>("--to") { Description = "the new collection, loaded from --path", Required = true };
        var pause = new Option<TimeSpan>("--pause")
        {
            Description = "time between the steps, e.g. 3s (0s: none)", CustomParser = CliParsers.DurationOrZero, DefaultValueFactory = _ => TimeSpan.FromSeconds(3),
        };
        var startAfter = new Option<TimeSpan>("--start-after")
        {
            Description = "wait this long before the first step, e.g. 10s, once connected (a benchmark starts this beside its load)",
            CustomParser = CliParsers.DurationOrZero, DefaultValueFactory = _ => TimeSpan.Zero,
        };
        var blueGreen = new Command("blue-green",
            "The refresh's last steps from one process: load --path as --to, switch --alias from --from to it (compare-and-set), drop --from")
        {
            alias, from, to, path, pause, startAfter,
        };
        blueGreen.SetAction((parse, ct) => RunAsync(parse, target, apiKey, json, async (client, _, record) =>
        {
            string aliasName = parse.GetValue(alias)!, old = parse.GetValue(from)!, fresh = parse.GetValue(to)!;
            // One call first, so that connecting and the client's first-call costs fall outside the timed steps.
            await client.GetCollectionInfoAsync(new GetCollectionInfoRequest { Name = old }, cancellationToken: ct);
            await Task.Delay(parse.GetValue(startAfter), ct);
            var steps = new JsonArray();
            record["steps"] = steps;
            await TimedStepAsync(steps, "load-snapshot", async step =>
            {
                LoadSnapshotResponse loaded = await client.LoadSnapshotAsync(new LoadSnapshotRequest { Name = fresh, Path = parse.GetValue(path)! }, cancellationToken: ct);
                RecordLoad(step, loaded);
            });
            await Task.Delay(parse.GetValue(pause), ct);
            await TimedStepAsync(steps, "switch-alias", step => client.SwitchAliasAsync(
                new SwitchAliasRequest { Alias = aliasName, Collection = fresh, ExpectedCollection = old }, cancellationToken: ct).ResponseAsync);
            await Task.Delay(parse.GetValue(pause), ct);
            await TimedStepAsync(steps, "drop", step => client.DropCollectionAsync(new DropCollectionRequest { Name = old }, cancellationToken: ct).ResponseAsync);
            Console.WriteLine($"alias {aliasName} -> {fresh} (was {old}); {old} dropped");
        }));
        command.Subcommands.Add(blueGreen);

        var drop = new Command("drop", "Drop a collection and delete its files") { collection };
        drop.SetAction((parse, ct) => RunAsync(parse, target, apiKey, json, async client =>
        {
            await client.DropCollectionAsync(new DropCollectionRequest { Name = parse.GetValue(collection)! }, cancellationToken: ct);
            Console.WriteLine($"dropped {parse.GetValue(collection)}");
        }));
        command.Subcommands.Add(drop);
        return command;
    }

    /// <summary>Reads the file twice (the hash first, for the header; then the chunks), never whole into memory.</summary>
    /// <remarks>The hash's time is recorded apart (hash_seconds): a pipeline may have the hash already, from its own copy.</remarks>
    private static async Task<LoadSnapshotResponse> UploadAsync(CollectionService.CollectionServiceClient client, string name, string path,
        int chunkBytes, JsonObject record, CancellationToken ct)
    {
        if (chunkBytes < 1) throw new UsageException($"--chunk-bytes must be at least 1, got {chunkBytes}");
        byte[] sha256;
        long length;
        var hashing = Stopwatch.StartNew();
        await using (FileStream hashed = File.OpenRead(path))
        {
            length = hashed.Length;
            sha256 = await SHA256.HashDataAsync(hashed, ct);
        }
        record["hash_seconds"] = Math.Round(hashing.Elapsed.TotalSeconds, 3);
        record["stream_started_unix_ms"] = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        using AsyncClientStreamingCall<UploadSnapshotRequest, LoadSnapshotResponse> call = client.UploadSnapshot(cancellationToken: ct);
        await call.RequestStream.WriteAsync(new UploadSnapshotRequest
        {
            Header = new UploadSnapshotHeader { Name = name, TotalBytes = (ulong)length, Sha256 = ByteString.CopyFrom(sha256) },
        }, ct);
        await using (FileStream input = File.OpenRead(path))
        {
            byte[] buffer = new byte[chunkBytes];
            int read;
            try
            {
                while ((read = await input.ReadAsync(buffer, ct)) > 0)
                    await call.RequestStream.WriteAsync(new UploadSnapshotRequest { Chunk = ByteString.CopyFrom(buffer, 0, read) }, ct);
                await call.RequestStream.CompleteAsync();
            }
            catch (RpcException)
            {
                // The server answered before the end (a refusal): its answer below says why.
            }
        }
        return await call.ResponseAsync;
    }

    /// <summary>One step of blue-green: its name and the Unix ms it started and was answered, with what it records.</summary>
    private static async Task TimedStepAsync(JsonArray steps, string name, Func<JsonObject, Task> call)
    {
        var step = new JsonObject { ["step"] = name, ["started_unix_ms"] = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() };
        steps.Add(step);
        var clock = Stopwatch.StartNew();
        await call(step);
        step["answered_unix_ms"] = (long)step["started_unix_ms"]! + (long)clock.Elapsed.TotalMilliseconds;
        step["client_seconds"] = Math.Round(clock.Elapsed.TotalSeconds, 3);
    }

    /// <summary>What a load or an upload answered, for --json: bytes, the server's time, the client's MB/s, the state.</summary>
    private static void RecordLoad(JsonObject record, LoadSnapshotResponse loaded)
    {
        record["collection"] = loaded.Info.Name;
        record["points"] = loaded.Info.Count;
        record["bytes"] = loaded.Bytes;
        record["server_seconds"] = loaded.DurationMicros / 1e6;
        record["state"] = loaded.Info.State.ToString();
    }

    private static Task<int> RunAsync(ParseResult parse, Option<string> target, Option<string?> apiKey, Option<string?> json,
        Func<CollectionService.CollectionServiceClient, Task> call) =>
        RunAsync(parse, target, apiKey, json, (collections, _, _) => call(collections));

    private static Task<int> RunAsync(ParseResult parse, Option<string> target, Option<string?> apiKey, Option<string?> json,
        Func<CollectionService.CollectionServiceClient, VectorService.VectorServiceClient, Task> call) =>
        RunAsync(parse, target, apiKey, json, (collections, vectors, _) => call(collections, vectors));

    private static Task<int> RunAsync(ParseResult parse, Option<string> target, Option<string?> apiKey, Option<string?> json,
        Func<CollectionService.CollectionServiceClient, VectorService.VectorServiceClient, JsonObject, Task> call) => CommandGuard.RunAsync(async () =>
    {
        using GrpcChannel channel = GrpcChannel.ForAddress(parse.GetValue(target)!, new GrpcChannelOptions { MaxReceiveMessageSize = null });
        CallInvoker invoker = parse.GetValue(apiKey) is { } key
            ? channel.CreateCallInvoker().Intercept(metadata => { metadata.Add("authorization", "Bearer " + key); return metadata; })
            : channel.CreateCallInvoker();
        var record = new JsonObject { ["verb"] = parse.CommandResult.Command.Name };
        long started = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var clock = Stopwatch.StartNew();
        int exit;
        try
        {
            await call(new CollectionService.CollectionServiceClient(invoker), new VectorService.VectorServiceClient(invoker), record);
            exit = 0;
        }
        catch (RpcException e)
        {
            Console.Error.WriteLine($"ann-bench: error: {e.StatusCode}: {e.Status.Detail}");
            record["error"] = $"{e.StatusCode}: {e.Status.Detail}";
            exit = 1;
        }
        record["started_unix_ms"] = started;
        record["answered_unix_ms"] = started + (long)clock.Elapsed.TotalMilliseconds;
        record["client_seconds"] = Math.Round(clock.Elapsed.TotalSeconds, 3);
        if (record["bytes"] is { } bytes)
            record["client_mb_per_s"] = Math.Round((ulong)bytes / 1e6 / clock.Elapsed.TotalSeconds, 1);
        if (parse.GetValue(json) is { } path)
            File.WriteAllText(path, record.ToJsonString(ReportJson.Options));
        return exit;
    });
}
