#!/usr/bin/env bash
# A three-node AnnServer cluster on this machine, with one command: three nats-servers clustered with JetStream and
# three annserver nodes (role all: each holds replicas and routes searches), all on loopback. Prints the addresses,
# then waits; Ctrl-C stops everything (and deletes the data unless --data or --keep was given).
#
# usage: tools/cluster-local.sh [options] [-- more annserver options, given to every node]
#   --nodes N        annserver nodes (default 3)
#   --grpc-port P    gRPC port of node 0; node i listens on P+i (default 50051)
#   --metrics-port P /metrics port of node 0; node i on P+i (default 9091)
#   --http-port P    JSON over HTTP of node 0; node i on P+i (default 8080; -1: no JSON port)
#   --nats-port P    NATS client port of server 0; server i on P+i, cluster routes on P+2000+i, monitoring on P+4000+i
#                    (default 4222: 4222-4224, 6222-6224, 8222-8224)
#   --data DIR       keep NATS stores, node data and logs in DIR (kept on exit; a second run resumes the same cluster)
#   --keep           keep the temporary data folder on exit
#   --dll PATH       run this annserver.dll instead of building src/AnnServer (Release) first
# Needs: the .NET SDK, nats-server (Debian package nats-server), curl.
# Example: tools/cluster-local.sh -- --heartbeat-ms 500
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
nodes=3
grpc_port=50051
metrics_port=9091
http_port=8080
nats_port=4222
data=""
keep=0
dll=""
extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --nodes) nodes="$2"; shift 2 ;;
    --grpc-port) grpc_port="$2"; shift 2 ;;
    --metrics-port) metrics_port="$2"; shift 2 ;;
    --http-port) http_port="$2"; shift 2 ;;
    --nats-port) nats_port="$2"; shift 2 ;;
    --data) data="$2"; keep=1; shift 2 ;;
    --keep) keep=1; shift ;;
    --dll) dll="$2"; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "cluster-local.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[[ "$nodes" =~ ^[1-9][0-9]*$ ]] || { echo "cluster-local.sh: --nodes must be a positive integer, got '$nodes'" >&2; exit 2; }

nats_bin="$(command -v nats-server || true)"
[[ -z "$nats_bin" && -x /usr/sbin/nats-server ]] && nats_bin=/usr/sbin/nats-server
[[ -n "$nats_bin" ]] || { echo "cluster-local.sh: nats-server not found; install it: sudo apt-get install nats-server" >&2; exit 1; }
command -v curl >/dev/null || { echo "cluster-local.sh: curl not found; install it: sudo apt-get install curl" >&2; exit 1; }

if [[ -z "$data" ]]; then data="$(mktemp -d /tmp/annserver-cluster.XXXXXX)"; fi
mkdir -p "$data/logs"
data="$(cd "$data" && pwd)"

pids=()
stop() {
  trap - INT TERM EXIT
  if [[ ${#pids[@]} -gt 0 ]]; then
    echo
    echo "stopping ${#pids[@]} processes..."
    kill -TERM "${pids[@]}" 2>/dev/null || true
    for _ in $(seq 1 100); do
      alive=0
      for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
      [[ $alive -eq 0 ]] && break
      sleep 0.1
    done
    kill -KILL "${pids[@]}" 2>/dev/null || true
    wait 2>/dev/null || true
  fi
  if [[ $keep -eq 0 ]]; then rm -rf "$data"; else echo "data and logs kept in $data"; fi
}
trap stop EXIT
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for i in $(seq 0 2); do
  for p in $((nats_port + i)) $((nats_port + 2000 + i)) $((nats_port + 4000 + i)); do
    port_in_use "$p" && { echo "cluster-local.sh: port $p is in use (another cluster running? try --nats-port)" >&2; exit 1; }
  done
done
for i in $(seq 0 $((nodes - 1))); do
  for p in $((grpc_port + i)) $((metrics_port + i)) $([[ $http_port -ge 0 ]] && echo $((http_port + i))); do
    port_in_use "$p" && { echo "cluster-local.sh: port $p is in use (try --grpc-port / --metrics-port / --http-port)" >&2; exit 1; }
  done
done

# 1. annserver, built once (each node runs the same dll).
if [[ -z "$dll" ]]; then
  artifacts="${ANNSERVER_CLUSTER_ARTIFACTS:-/tmp/annserver-cluster-local-build}"
  echo "building src/AnnServer (Release) into $artifacts ..."
  dotnet build "$repo/src/AnnServer/AnnServer.csproj" -c Release --artifacts-path "$artifacts" -v quiet -nologo >"$data/logs/build.log" 2>&1 \
    || { echo "cluster-local.sh: build failed, see $data/logs/build.log" >&2; tail -20 "$data/logs/build.log" >&2; keep=1; exit 1; }
  dll="$artifacts/bin/AnnServer/release/annserver.dll"
fi
[[ -f "$dll" ]] || { echo "cluster-local.sh: $dll not found" >&2; exit 1; }

# 2. Three nats-servers with JetStream, clustered.
nats_urls=""
routes=""
for i in 0 1 2; do
  routes+="\"nats-route://127.0.0.1:$((nats_port + 2000 + i))\", "
  nats_urls+="nats://127.0.0.1:$((nats_port + i)),"
done
nats_urls="${nats_urls%,}"
for i in 0 1 2; do
  mkdir -p "$data/nats-$i"
  cat >"$data/nats-$i.conf" <<EOF
server_name: "n$i"
listen: "127.0.0.1:$((nats_port + i))"
http: "127.0.0.1:$((nats_port + 4000 + i))"
jetstream { store_dir: "$data/nats-$i" }
cluster {
  name: "annserver-local"
  listen: "127.0.0.1:$((nats_port + 2000 + i))"
  routes: [${routes%, }]
}
EOF
  "$nats_bin" -c "$data/nats-$i.conf" >"$data/logs/nats-$i.log" 2>&1 &
  pids+=($!)
done
echo -n "waiting for JetStream"
for i in 0 1 2; do
  for _ in $(seq 1 300); do
    curl -fs "http://127.0.0.1:$((nats_port + 4000 + i))/healthz" >/dev/null 2>&1 && break
    kill -0 "${pids[$i]}" 2>/dev/null || { echo; echo "nats-server $i exited, see $data/logs/nats-$i.log" >&2; tail -5 "$data/logs/nats-$i.log" >&2; exit 1; }
    sleep 0.1
  done
  echo -n "."
done
echo " ok"

# 3. The annserver nodes.
export Logging__Console__FormatterName=simple Logging__Console__FormatterOptions__SingleLine=true \
  Logging__Console__FormatterOptions__ColorBehavior=Disabled
node_pids=()
for i in $(seq 0 $((nodes - 1))); do
  mkdir -p "$data/node-$i"
  dotnet "$dll" --host 127.0.0.1 --port $((grpc_port + i)) --metrics-port $((metrics_port + i)) --http-port $([[ $http_port -ge 0 ]] && echo $((http_port + i)) || echo -1) \
    --data-dir "$data/node-$i" \
    --cluster-nats "$nats_urls" --node-id "node-$i" --advertise-address "http://127.0.0.1:$((grpc_port + i))" \
    ${extra[@]+"${extra[@]}"} >"$data/logs/node-$i.log" 2>&1 &
  pids+=($!)
  node_pids+=($!)
done
echo -n "waiting for the nodes to be SERVING"
for i in $(seq 0 $((nodes - 1))); do
  for _ in $(seq 1 1200); do
    curl -fs "http://127.0.0.1:$((metrics_port + i))/healthz" >/dev/null 2>&1 && break
    kill -0 "${node_pids[$i]}" 2>/dev/null || { echo; echo "node-$i exited, see $data/logs/node-$i.log" >&2; tail -20 "$data/logs/node-$i.log" >&2; keep=1; exit 1; }
    sleep 0.25
  done
  echo -n "."
done
echo " ok"

cat <<EOF

AnnServer local cluster: $nodes nodes, 3 NATS servers (JetStream), everything on 127.0.0.1
  NATS (--cluster-nats)  $nats_urls
EOF
for i in $(seq 0 $((nodes - 1))); do
  json=""
  [[ $http_port -ge 0 ]] && json="   JSON http://127.0.0.1:$((http_port + i))"
  echo "  node-$i  gRPC http://127.0.0.1:$((grpc_port + i))   metrics http://127.0.0.1:$((metrics_port + i))/metrics$json   log $data/logs/node-$i.log"
done
cat <<EOF
  data   $data$([[ $keep -eq 0 ]] && echo " (deleted on exit)")

Any node answers every call; a collection with shards is spread over the nodes, e.g. with grpcurl (reflection is on):
  grpcurl -plaintext -d '{"name":"demo","dimension":8,"metric":"METRIC_L2","shards":2,"replicas":2}' \\
    127.0.0.1:$grpc_port ann.v1.CollectionService/CreateCollection
  grpcurl -plaintext 127.0.0.1:$grpc_port ann.v1.ClusterService/GetClusterState
Ctrl-C stops the cluster.
EOF

# Wait until Ctrl-C, or until a process dies (then say which and stop the rest).
while true; do
  for idx in "${!pids[@]}"; do
    if ! kill -0 "${pids[$idx]}" 2>/dev/null; then
      if [[ $idx -lt 3 ]]; then what="nats-server $idx (log $data/logs/nats-$idx.log)"; else what="node-$((idx - 3)) (log $data/logs/node-$((idx - 3)).log)"; fi
      echo "$what exited; stopping the cluster" >&2
      keep=1
      exit 1
    fi
  done
  sleep 1
done
