using AnnServer.Harness.Cli;

return AnnBenchCli.Run(args);
