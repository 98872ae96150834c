#!/usr/bin/env bash
# Makes bench/results/writes.{md,json}: durable Upsert throughput at dimension 128 (issue 17, item 4), for this tree
# and a baseline commit built in the same run, against the goals: batch 100 from 8 writers >= 25,000 points/s with p99
# under 100 ms, batch 1 from 32 writers >= 8,000 points/s, on 2 cores.
#
# usage: [DURATION=10s] [WARMUP=5s] [ROUNDS=1] [POINTS=200000] [BASELINE=0dd6487] [OUT=bench/results/writes]
#        bench/run-writes.sh [WORK_DIR]
#   WORK_DIR (default /tmp/writes-bench) holds the data, the builds, the snapshot, the servers' data and every run's
#   JSON. DURATION: measured time of each load run, after WARMUP (the JIT's tiers settle in it; the warm-up's writes are
#   durable writes too, so the fresh collection is not empty when the measurement starts). ROUNDS: how often the whole
#   matrix runs; the systems take turns at going first. POINTS: size of the prefilled collection. BASELINE: the commit
#   measured as "baseline" (built from a temporary git worktree in WORK_DIR). OUT: where the .md and .json go.
# Needs: the .NET SDK, git, python3, /usr/bin/time.
#
# What is measured, and how:
# - data: `ann-bench datasets clustered`, 128-d, 1,000 Gaussian clusters: POINTS vectors (seed 21) for the prefilled
#   collection's snapshot, POINTS others (seed 22) that the writers upsert, under new ids;
# - the graph insert alone: `ann-build build` of the prefilled snapshot (M 16, efConstruction 200, 2 threads), its CPU
#   time (user + sys) per point: what one point costs the engine with no server around it;
# - per system and (batch, writers) in {1, 100} x {1, 8, 32}: a Release server started on a new data folder with the
#   snapshot as collection "prefill" (Strict durability, the default: a write is acknowledged once its log commit is
#   on disk and it is applied), a collection "fresh" made empty over HTTP (M 16, efConstruction 200, the defaults);
#   `ann-bench load --operation upsert` closed loop on "fresh", then on "prefill": points/s, latency percentiles, the
#   server's CPU per point (/proc/PID/stat), and from /metrics the log commits and the time they took.
# Client and server share this machine's cores, as the issue's figures do.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:-/tmp/writes-bench}"
duration="${DURATION:-10s}"
warmup="${WARMUP:-5s}"
rounds="${ROUNDS:-1}"
points="${POINTS:-200000}"
baseline="${BASELINE:-0dd6487}"
out="${OUT:-$repo/bench/results/writes}"
port=50851
metrics_port=50852
http_port=50853
[[ "$rounds" =~ ^[0-9]+$ ]] || { echo "ROUNDS must be a whole number, got '$rounds'" >&2; exit 1; }
mkdir -p "$work/runs"
rm -f "$work"/runs/*
cd "$repo"

echo "== builds"
dotnet build -c Release bench/AnnServer.Harness --artifacts-path "$work/build" -v q -nologo
dotnet build -c Release tools/AnnServer.Build --artifacts-path "$work/build" -v q -nologo
dotnet build -c Release src/AnnServer --artifacts-path "$work/build" -v q -nologo
if [[ ! -d "$work/baseline-src" ]]; then git worktree add --detach "$work/baseline-src" "$baseline"; fi
git -C "$work/baseline-src" checkout -q --detach "$baseline"
(cd "$work/baseline-src" && dotnet build -c Release src/AnnServer --artifacts-path "$work/baseline-build" -v q -nologo)
ann_bench=(dotnet "$work/build/bin/AnnServer.Harness/release/ann-bench.dll")
ann_build=(dotnet "$work/build/bin/AnnServer.Build/release/ann-build.dll")
current=(dotnet "$work/build/bin/AnnServer/release/annserver.dll")
baseline_server=(dotnet "$work/baseline-build/bin/AnnServer/release/annserver.dll")

echo "== data"
[[ -f "$work/prefill-$points/base.fvecs" ]] ||
  "${ann_bench[@]}" datasets clustered --out "$work/prefill-$points" --points "$points" --queries 100 --dimension 128 --seed 21
[[ -f "$work/upserts-$points/base.fvecs" ]] ||
  "${ann_bench[@]}" datasets clustered --out "$work/upserts-$points" --points "$points" --queries 100 --dimension 128 --seed 22
snapshot="$work/prefill-$points.snap"
if [[ ! -f "$snapshot" || ! -f "$work/build-cpu.txt" ]]; then
  /usr/bin/time -f "%U %S %e" -o "$work/build-cpu.txt" "${ann_build[@]}" build --input "$work/prefill-$points/base.fvecs" \
    --metric l2 --m 16 --ef-construction 200 --threads 2 --output "$snapshot" > "$work/build.log" 2>&1
fi
uptime | tee "$work/load-before.txt"

server_pid=
start_server() { # system
  local data="$work/data-$1"
  rm -rf "$data"
  local server=("${current[@]}")
  [[ $1 == baseline ]] && server=("${baseline_server[@]}")
  "${server[@]}" --snapshot prefill="$snapshot" --port $port --metrics-port $metrics_port --http-port $http_port \
    --data-dir "$data" > "$work/$1.log" 2>&1 &
  server_pid=$!
  local i
  for ((i = 0; i < 600; i++)); do
    kill -0 "$server_pid" 2>/dev/null || { echo "   $1 exited: see $work/$1.log"; return 1; }
    curl -sf "http://127.0.0.1:$metrics_port/healthz" > /dev/null 2>&1 && break
    sleep 0.2
  done
  curl -sf --json '{"name": "fresh", "dimension": 128, "metric": "METRIC_L2"}' "http://127.0.0.1:$http_port/v1/collections" > /dev/null
}

stop_server() {
  [[ -n "$server_pid" ]] || return 0
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=
}
trap stop_server EXIT

commit_counters() { # collection: "commits seconds" from the server's metrics
  curl -s "http://127.0.0.1:$metrics_port/metrics" | awk -v c="collection=\"$1\"" '
    index($0, "annserver_log_commits_total{" c "}") == 1 { commits = $2 }
    index($0, "annserver_log_commit_seconds_total{" c "}") == 1 { seconds = $2 }
    END { print commits + 0, seconds + 0 }'
}

load() { # name collection batch writers
  local name=$1 collection=$2 batch=$3 writers=$4 before after
  before=$(commit_counters "$collection")
  "${ann_bench[@]}" load --target "http://127.0.0.1:$port" --collection "$collection" \
    --queries "$work/upserts-$points/base.fvecs" --operation upsert --batch "$batch" --concurrency "$writers" \
    --first-id $((1000000000 + 10000000 * (batch + writers))) --duration "$duration" --warmup "$warmup" --timeout 120s \
    --server-pid "$server_pid" --json "$work/runs/$name.json" > "$work/runs/$name.log" 2>&1 ||
    echo "   $name failed: see $work/runs/$name.log"
  after=$(commit_counters "$collection")
  echo "$before $after" > "$work/runs/$name.commits"
  grep -h "CPU per call" "$work/runs/$name.log" | sed "s/^/   $name: /" || true
}

measure() { # round system
  local round=$1 system=$2 batch writers
  echo "== round $round: $system ($(uptime | sed 's/.*load/load/'))"
  for batch in 100 1; do
    for writers in 1 8 32; do
      start_server "$system"
      load "r$round-$system-fresh-b$batch-w$writers" fresh $batch $writers
      load "r$round-$system-prefill-b$batch-w$writers" prefill $batch $writers
      stop_server
    done
  done
}

for ((round = 1; round <= rounds; round++)); do
  if ((round % 2)); then order=(baseline current); else order=(current baseline); fi
  for system in "${order[@]}"; do measure "$round" "$system"; done
done
uptime | tee "$work/load-after.txt"

python3 "$repo/bench/writes/report.py" "$work" "$out" "$points" "$baseline" "$(git rev-parse --short HEAD)" \
  "$(cat "$work/load-before.txt")" "$(cat "$work/load-after.txt")"
