using System.Globalization;

namespace AnnServer.Storage.Tests;

/// <summary>
/// Entry point of this test assembly when a test starts it as a child process
/// (<c>dotnet AnnServer.Storage.Tests.dll child-writer &lt;folder&gt; &lt;writers&gt; &lt;round&gt;</c>).
/// Several writers append to the log in the folder without end; after each acknowledged append
/// the child prints "U id position" (upsert) or "D id position" (delete). The parent kills it
/// with SIGKILL and checks that every printed write survived. Under the test runner this Main is
/// never called.
/// </summary>
public static class ChildWriter
{
    public const string Verb = "child-writer";
    public const int Dimension = 16;

    public static int Main(string[] args)
    {
        if (args is not [Verb, var folder, var writersText, var roundText])
        {
            Console.Error.WriteLine($"usage: {Verb} <folder> <writers> <round>");
            return 2;
        }
        int writers = int.Parse(writersText, CultureInfo.InvariantCulture);
        int round = int.Parse(roundText, CultureInfo.InvariantCulture);
        var log = CollectionLog.Open(folder); // never disposed: the process is killed
        log.Replay(0, (_, _) => { });        // as a server would: also records any damaged tail
        Console.Out.WriteLine("ready");
        Console.Out.Flush();
        var tasks = Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
        {
            long baseId = (round * 100 + w + 1) * 1_000_000L; // ids never repeat across rounds
            for (long k = 0; ; k++)
            {
                long id = baseId + k;
                long position = await log.AppendAsync(Records.Upsert(id, 1, Dimension));
                Console.Out.WriteLine($"U {id} {position}");
                if (k % 4 == 3)
                {
                    // Delete an id whose upsert was acknowledged before: it must stay deleted.
                    position = await log.AppendAsync(LogRecord.Delete(Records.Collection, [id - 1]));
                    Console.Out.WriteLine($"D {id - 1} {position}");
                }
            }
        })).ToArray();
        Task.WaitAll(tasks);
        return 0;
    }
}
