// Every test here starts several real processes (three nats-servers, AnnServer nodes); on a 2-core machine running
// them side by side only makes timeouts flaky. One test at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
