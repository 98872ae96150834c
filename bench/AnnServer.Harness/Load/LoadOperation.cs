namespace AnnServer.Harness.Load;

/// <summary>The call each request of `ann-bench load` makes.</summary>
public enum LoadOperation
{
    /// <summary>Search: one query per call.</summary>
    Search,

    /// <summary>SearchBatch: <see cref="LoadOptions.BatchSize"/> consecutive queries per call.</summary>
    Batch,

    /// <summary>Upsert: <see cref="LoadOptions.BatchSize"/> points per call, the queries' vectors under new ids.</summary>
    Upsert,
}
