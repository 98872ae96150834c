using AnnServer.Core.Payloads;

namespace AnnServer.Datasets.Tests;

/// <summary>
/// The Parquet golden files DuckDB wrote (Fixtures/parquet/make-duckdb-fixtures.mjs), and the values the script put in
/// them, computed again here from the row number.
/// </summary>
public static class DuckDbFixtures
{
    public static string PathOf(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "parquet", name);

    /// <summary>Component j of row i is (4i + j) / 8: exact in float and double.</summary>
    public static float[] Vector(int row, int dimension = 4) => Enumerable.Range(0, dimension).Select(j => (4 * row + j) / 8f).ToArray();

    public static float[] Vectors(IEnumerable<int> rows, int dimension = 4) => rows.SelectMany(i => Vector(i, dimension)).ToArray();

    /// <summary>The payload of row i of payload-kinds.parquet, every column read into the field of its own name.</summary>
    public static Payload ExpectedPayload(int i)
    {
        var payload = new Payload();
        if (i % 5 != 4) payload.Add("category", new[] { "shoes", "bags", "hats" }[i % 3]);
        switch (i % 4)
        {
            case 0: payload.Add("tags", PayloadValue.Keywords("new", "sale")); break;
            case 1: payload.Add("tags", PayloadValue.Keywords()); break;
            case 3: payload.Add("tags", PayloadValue.Keywords("sale")); break; // ['sale', NULL]: the null element is left out
        }
        payload.Add("tiny", (long)(i - 5));
        payload.Add("small", (long)(i - 300));
        payload.Add("medium", (long)(i * 1000));
        payload.Add("big", 5_000_000_000L + i);
        payload.Add("utiny", (long)(200 + i));
        payload.Add("usmall", (long)(60_000 + i));
        payload.Add("uint", 4_000_000_000L + i);
        if (i != 7) payload.Add("sizes", PayloadValue.Int64s(i, i + 1));
        if (i != 3) payload.Add("price", (double)(i + 0.5f));
        payload.Add("score", i / 4.0);
        if (i != 5) payload.Add("sponsored", i % 2 == 0);
        payload.Add("locale", new[] { "en", "fr", "de" }[i % 3]);
        return payload;
    }
}
