namespace AnnServer.Storage.Tests;

/// <summary>Deterministic test records: the vector of id i is a function of i, so a replayed
/// record can be checked value by value without keeping what was written.</summary>
internal static class Records
{
    public const string Collection = "pins";

    public static float Component(long id, int j) => (float)(id % 1000) * 0.5f + j * 0.25f - 3f;

    public static LogRecord Upsert(long firstId, int count, int dimension, bool labels = false)
    {
        var ids = new long[count];
        var vectors = new float[count * dimension];
        int[][]? labelArrays = labels ? new int[count][] : null;
        for (int i = 0; i < count; i++)
        {
            ids[i] = firstId + i;
            for (int j = 0; j < dimension; j++)
                vectors[i * dimension + j] = Component(ids[i], j);
            if (labelArrays is not null)
                labelArrays[i] = Enumerable.Range(0, (int)(ids[i] % 4)).Select(k => (int)(ids[i] % 97) + k).ToArray();
        }
        return LogRecord.Upsert(Collection, dimension, ids, vectors, labelArrays);
    }

    public static void AssertVectorsAreDeterministic(LogRecord record)
    {
        for (int i = 0; i < record.Count; i++)
        {
            var vector = record.Vector(i);
            for (int j = 0; j < record.Dimension; j++)
                Assert.Equal(Component(record.Ids[i], j), vector[j]);
        }
    }
}
