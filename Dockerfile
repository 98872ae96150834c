# AnnServer: the gRPC server (src/AnnServer) in a container.
#   docker build -t annserver .
#   docker run --rm annserver new-key admin ops        # line 1: the key for the client; line 2: for the keys file
#   docker run -p 50051:50051 -p 9090:9090 -v annserver-data:/data \
#       -v "$PWD/keys:/run/secrets/annserver-keys:ro" -e ANNSERVER_API_KEYS_FILE=/run/secrets/annserver-keys annserver
#   docker run ... -v "$PWD/fmnist.snap:/snapshots/fmnist.snap:ro" annserver --snapshot fmnist=/snapshots/fmnist.snap
# The server listens on 0.0.0.0 here, so it needs API keys (ANNSERVER_API_KEYS_FILE, or ANNSERVER_API_KEYS with the
# keys-file entries separated by ';'), or -e ANNSERVER_INSECURE=true on a network you trust: without either it exits
# with code 2 and says so. Health checking stays open, so the HEALTHCHECK needs no key.
# Settings: ANNSERVER_* variables (annserver --help lists them) or options after the image name. Give the port, TLS and
# key settings as variables (-e ANNSERVER_PORT=...): the HEALTHCHECK below sees the environment, not the options.

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
# Restore first, from the project files alone, so that the package layer is reused while only sources change.
COPY Directory.Build.props Directory.Packages.props ./
COPY src/AnnServer/AnnServer.csproj src/AnnServer/
COPY src/AnnServer.Core/AnnServer.Core.csproj src/AnnServer.Core/
COPY src/AnnServer.Collections/AnnServer.Collections.csproj src/AnnServer.Collections/
COPY src/AnnServer.Protocol/AnnServer.Protocol.csproj src/AnnServer.Protocol/
COPY src/AnnServer.Storage/AnnServer.Storage.csproj src/AnnServer.Storage/
COPY src/AnnServer.Cluster/AnnServer.Cluster.csproj src/AnnServer.Cluster/
RUN dotnet restore src/AnnServer/AnnServer.csproj
COPY protos/ protos/
COPY src/ src/
RUN dotnet publish src/AnnServer/AnnServer.csproj --no-restore -c Release -o /app

FROM mcr.microsoft.com/dotnet/aspnet:10.0
WORKDIR /app
COPY --from=build /app ./
# The aspnet images ship a non-root user "app"; the data volume must be writable by it.
RUN mkdir -p /data && chown app:app /data
USER app
# ASPNETCORE_HTTP_PORTS is cleared: the server sets its own endpoints, and Kestrel would warn about overriding it.
ENV ASPNETCORE_HTTP_PORTS= \
    ANNSERVER_HOST=0.0.0.0 \
    ANNSERVER_PORT=50051 \
    ANNSERVER_METRICS_PORT=9090 \
    ANNSERVER_DATA_DIR=/data
VOLUME ["/data"]
# 50051: gRPC (HTTP/2, plain unless ANNSERVER_TLS_CERT/ANNSERVER_TLS_KEY are set); 9090: /metrics and /healthz (HTTP/1.1).
EXPOSE 50051 9090
# The same binary probes the server's own grpc.health.v1 service with the same settings: healthy once every collection
# is loaded. start-period covers the load of a large snapshot.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["dotnet", "/app/annserver.dll", "healthcheck"]
ENTRYPOINT ["dotnet", "/app/annserver.dll"]
