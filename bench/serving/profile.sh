#!/usr/bin/env bash
# Profiles this tree's server with perf while `ann-bench load` drives it, at 8 unary callers and at 8 streams (k 10,
# ef 14, Fashion-MNIST), and sorts the samples by where they are spent (bench/serving/profile_summary.py): the search,
# HTTP/2 and Kestrel, protobuf, gRPC, the thread pool, the GC, AnnServer's own layers. The server runs with
# DOTNET_PerfMapEnabled=1, DOTNET_EnableWriteXorExecute=0 (perf reads the map only for anonymous memory, not the
# runtime's double-mapped code) and DOTNET_ReadyToRun=0 (precompiled framework code has no names in the map; jitted, it
# does, and after the warm-up it is at tier 1 as it would be anyway); stacks are walked by frame pointer (-g).
#
# usage: [DURATION=6s] [SERVER_BUILD=DIR] bench/serving/profile.sh WORK_DIR
#   SERVER_BUILD: another build of the server (the --artifacts-path of a `dotnet build -c Release src/AnnServer`; WORK_DIR/build
#   by default), e.g. one with [MethodImpl(NoInlining)] on the engine entry to tell its samples from the service's.
#   WORK_DIR: the one bench/serving/run.sh made (its builds, data and snapshot). Writes WORK_DIR/profile/<mode>.json
#   (shares and the server CPU per call of the profiled run; run.sh's report puts them on the page), and keeps
#   <mode>.perf.data and the summaries' logs beside them.
# Needs: perf (Debian's linux-perf), and the right to profile (root, or kernel.perf_event_paranoid <= 1).
set -euo pipefail
work="$1"
duration="${DURATION:-6s}"
port=50671 metrics_port=50672
ann_bench=(dotnet "$work/build/bin/AnnServer.Harness/release/ann-bench.dll")
server=(dotnet "${SERVER_BUILD:-$work/build}/bin/AnnServer/release/annserver.dll")
summary="$(cd "$(dirname "$0")" && pwd)/profile_summary.py"
out="$work/profile"
mkdir -p "$out"
server_pid=
trap '[[ -n $server_pid ]] && kill $server_pid 2>/dev/null || true' EXIT

profile() { # mode label [ann-bench load options...]
  local mode=$1 label=$2; shift 2
  rm -rf "$work/data-profile"
  DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 DOTNET_ReadyToRun=0 "${server[@]}" --snapshot fmnist="$work/fmnist.snap" --port $port --metrics-port $metrics_port \
    --http-port -1 --data-dir "$work/data-profile" > "$out/$mode-server.log" 2>&1 &
  server_pid=$!
  local i
  for ((i = 0; i < 600; i++)); do curl -sf "http://127.0.0.1:$metrics_port/healthz" > /dev/null 2>&1 && break; sleep 0.2; done
  # 10 s of warm-up (tiered compilation settles, also on a loaded machine), then perf over the measured time.
  "${ann_bench[@]}" load --target "http://127.0.0.1:$port" --collection fmnist --queries "$work/query.fvecs" --k 10 --ef 14 \
    --duration "$duration" --warmup 10s --server-pid "$server_pid" "$@" --json "$out/$mode-load.json" > "$out/$mode-load.log" 2>&1 &
  local client=$!
  sleep 10.5
  # system-wide, then the server's samples only: -p would miss threads the server starts while it is recorded
  perf record -F 499 -g -a -o "$out/$mode.perf.data" -- sleep "${duration%s}" > "$out/$mode-perf.log" 2>&1
  wait $client
  local pid=$server_pid
  echo "$pid" > "$out/$mode.pid"
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=
  perf script -i "$out/$mode.perf.data" --pid "$pid" 2> /dev/null | python3 "$summary" --label "$label" --json "$out/$mode.json"
  # the profiled run's server CPU per call, so the page can give each share in µs per call
  python3 - "$out/$mode.json" "$out/$mode-load.json" <<'PY'
import json, sys
summary, load = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))["rows"][0]["load"]
summary["server_cpu_us_per_call"] = load.get("server_cpu_us_per_call")
summary["throughput"] = load.get("throughput")
json.dump(summary, open(sys.argv[1], "w"), indent=1)
PY
}

profile unary-c8 "8 unary callers" --concurrency 8
profile stream-c8 "8 streams" --transport stream --concurrency 8
