return await AnnServer.Hosting.AnnServerHost.RunAsync(args);
