using AnnServer.StubServer;
using Microsoft.AspNetCore.Server.Kestrel.Core;

// The floor of a unary search over gRPC in .NET: a bare Grpc.AspNetCore server with AnnServer's proto whose calls do no
// work (bench/serving/run.sh measures it beside the real server). It has none of the server's interceptors, settings
// or endpoints, on purpose: what the real server costs above it is AnnServer's own.
//
// usage: ann-stub-server --port 50051 [--dimension 784] [--work-micros 0]
//   --work-micros: each search first does that long of CPU work (StubWork), to measure the stack at a server's rate.
int port = IntArgument(args, "--port", 50051);
int dimension = IntArgument(args, "--dimension", 784);
int workMicros = IntArgument(args, "--work-micros", 0, allowZero: true);

var builder = WebApplication.CreateSlimBuilder();
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.WebHost.ConfigureKestrel(kestrel =>
{
    kestrel.AddServerHeader = false;
    kestrel.ListenLocalhost(port, listen => listen.Protocols = HttpProtocols.Http2);
});
builder.Services.AddGrpc();
builder.Services.AddSingleton(new StubCollection(dimension));
var work = new StubWork(dimension, workMicros);
if (workMicros > 0) Console.WriteLine($"work per search: {work.DistancesPerCall} distances of {dimension} dimensions, {workMicros} µs when calibrated");
builder.Services.AddSingleton(work);
var app = builder.Build();
app.MapGrpcService<StubVectorService>();
app.MapGrpcService<StubCollectionService>();
app.Run();
return 0;

static int IntArgument(string[] args, string name, int fallback, bool allowZero = false)
{
    int at = Array.IndexOf(args, name);
    if (at < 0) return fallback;
    if (at + 1 >= args.Length || !int.TryParse(args[at + 1], out int value) || value < 0 || (value == 0 && !allowZero))
        throw new ArgumentException($"{name} needs a {(allowZero ? "non-negative" : "positive")} whole number");
    return value;
}
