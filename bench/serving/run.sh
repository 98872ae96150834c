#!/usr/bin/env bash
# Makes bench/results/serving.{md,json}: what serving a search costs, from the engine in-process to unary gRPC and
# streaming, for this tree, a baseline commit built in the same run, and a stub server (the floor), on each dataset:
#   fashion-mnist: Fashion-MNIST, 60,000 x 784, L2, k 10, ef 14 (recall 0.96);
#   clustered-1m: 1,000,000 x 128 around 1,000 Gaussian clusters (`ann-bench datasets clustered`, seed 21, as
#   bench/run-catalogue.sh makes it), L2, k 10, ef 64 (recall 0.97).
#
# usage: [DATASETS=fashion-mnist,clustered-1m] [DURATION=6s] [ROUNDS=1] [BASELINE=b751304] [OUT=bench/results/serving]
#        [VARIANTS="name:VAR=v,VAR=v ..."] [NOTE="..."] bench/serving/run.sh [WORK_DIR]
#   WORK_DIR (default /tmp/serving) holds the data files, the builds, the snapshots (each built once with ann-build and
#   kept; clustered-1m's data and snapshot take minutes), the servers' data and every run's JSON. DURATION: measured time of each load run (after a warm-up of 1 s
#   or more: ann-bench load goes on warming up until its own JIT has gone quiet, up to 20 s more, since tiered
#   compilation of the client's gRPC path ran for ~5 s after start and was most of its CPU in a measured time that
#   began at 1 s). ROUNDS: how often each server is started
#   and measured; the systems take turns at going first. BASELINE: the commit measured as "baseline" (built from a
#   temporary git worktree in WORK_DIR). VARIANTS: extra runs of this tree's server with environment settings, e.g.
#   "spin0:DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=0 gcserver:DOTNET_gcServer=1", measured at 1 and 8 callers.
#   OUT: where the .md and .json go (elsewhere for a trial, so bench/results stays as it is). PROFILE=0: no perf profile
#   (by default bench/serving/profile.sh profiles this tree's server on Fashion-MNIST at the end, when perf is there).
# Needs: apt-get install -y dataset-fashion-mnist; the .NET SDK; git; python3; about 4 GB of memory for clustered-1m.
#
# What is measured, and how:
# - in-process: `ann-bench recall` on the snapshot at 1 and 2 threads (best of 3 passes over the 10,000 queries);
# - per server (stub, baseline, this tree): `ann-bench load` closed loop, Search at 1/2/8/32 callers, SearchBatch of
#   100 at 1 and 2 callers, SearchStream at 1 and 8 streams, one search a message and 8 (`--queries-per-message 8`,
#   not for the baseline), and at 8 streams 16 and 32 a message (two messages in flight a stream: `--stream-window` 2x
#   the message, on a server started again with `--max-stream-in-flight 64`: the default window was 4 per core then, less
#   than one such message; it is max(--max-batch-queries, 4 per core) now) (when ann-bench has `--transport stream`; the stub answers
#   each stream message with its fixed hits, so its rows are the streaming floor), then Upsert of 1 and 100 points at
#   1/8/32 writers (new ids, after the searches, so the searches see the snapshot only; a deadline of 120 s, since 32
#   writers of 100 points queue behind each other's graph inserts; 10 s and no warm-up, so that calls of seconds, sent
#   at the start, are counted);
# - CPU per call: the server's (/proc/PID/stat, utime + stime) and the client's, read by ann-bench at the start and
#   end of the measured time: on a machine shared with other work it is steadier than QPS;
# - the stub again with a search's CPU per call (`--work-micros`, the in-process 1-thread p50 of the round), Search at
#   1 and 8 callers: the bare stack at a server's call rate, since at the plain stub's rate (2-3x a server's) Kestrel and
#   the thread pool amortise wake-ups that a server pays per call.
# Client and servers share this machine's cores, as the issue's figures do: QPS counts the client's work too.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
work="${1:-/tmp/serving}"
duration="${DURATION:-6s}"
rounds="${ROUNDS:-1}"
baseline="${BASELINE:-b751304}"
out="${OUT:-$repo/bench/results/serving}"
variants="${VARIANTS:-}"
datasets="${DATASETS:-fashion-mnist,clustered-1m}"
IFS=, read -r -a dataset_list <<< "$datasets"
for dataset in "${dataset_list[@]}"; do
  [[ $dataset == fashion-mnist || $dataset == clustered-1m ]] ||
    { echo "DATASETS: fashion-mnist and/or clustered-1m, separated by ',', got '$dataset'" >&2; exit 1; }
done
port=50651
metrics_port=50652
[[ "$rounds" =~ ^[0-9]+$ ]] || { echo "ROUNDS must be a whole number, got '$rounds'" >&2; exit 1; }
mkdir -p "$work/runs"
rm -rf "$work"/runs/*
cd "$repo"

echo "== builds"
dotnet build -c Release bench/AnnServer.Harness --artifacts-path "$work/build" -v q -nologo
dotnet build -c Release bench/AnnServer.StubServer --artifacts-path "$work/build" -v q -nologo
dotnet build -c Release src/AnnServer --artifacts-path "$work/build" -v q -nologo
dotnet build -c Release tools/AnnServer.Build --artifacts-path "$work/build" -v q -nologo
if [[ ! -d "$work/baseline-src" ]]; then git worktree add --detach "$work/baseline-src" "$baseline"; fi
git -C "$work/baseline-src" checkout -q --detach "$baseline"
(cd "$work/baseline-src" && dotnet build -c Release src/AnnServer --artifacts-path "$work/baseline-build" -v q -nologo)
ann_bench=(dotnet "$work/build/bin/AnnServer.Harness/release/ann-bench.dll")
ann_build=(dotnet "$work/build/bin/AnnServer.Build/release/ann-build.dll")
stub=(dotnet "$work/build/bin/AnnServer.StubServer/release/ann-stub-server.dll")
ours=(dotnet "$work/build/bin/AnnServer/release/annserver.dll")
theirs=(dotnet "$work/baseline-build/bin/AnnServer/release/annserver.dll")

# The dataset measured now, as globals: its files, snapshot, collection, dimension and ef.
use_dataset() { # dataset
  dataset=$1
  case $dataset in
    fashion-mnist) # at WORK_DIR's top, where the runs before DATASETS existed put them
      dir="$work" base="$work/base.fvecs" queries="$work/query.fvecs" gt="$work/gt.ivecs" snapshot="$work/fmnist.snap"
      collection=fmnist dimension=784 ef=14 ;;
    clustered-1m)
      dir="$work/clustered-1m" base="$work/clustered-1m/base.fvecs" queries="$work/clustered-1m/query.fvecs"
      gt="$work/clustered-1m/gt-l2.ivecs" snapshot="$work/clustered-1m/snapshot.snap"
      collection=clustered dimension=128 ef=64 ;;
  esac
  files=(--queries "$queries" --ground-truth "$gt")
  mkdir -p "$work/runs/$dataset"
}

echo "== data"
for dataset in "${dataset_list[@]}"; do
  use_dataset "$dataset"
  if [[ ! -f $gt ]]; then
    case $dataset in
      fashion-mnist) "${ann_bench[@]}" datasets fashion-mnist --out "$dir" ;;
      clustered-1m) nice "${ann_bench[@]}" datasets clustered --out "$dir" --points 1000000 --queries 10000 --dimension 128 \
                      --clusters 1000 --seed 21 --metric l2 ;;
    esac
  fi
  if [[ ! -f $snapshot ]]; then # built aside and renamed, so that a build cut short is not taken for a snapshot
    "${ann_build[@]}" build --input "$base" --metric l2 --m 16 --ef-construction 200 --threads 2 --output "$snapshot.tmp"
    mv "$snapshot.tmp" "$snapshot"
  fi
done
streaming=no
"${ann_bench[@]}" load --help | grep -q -- '--transport' && streaming=yes
several=no # several searches a stream message: ann-bench and this tree's server have them, the baseline may not
"${ann_bench[@]}" load --help | grep -q -- '--queries-per-message' && several=yes
uptime | tee "$work/load-before.txt"

in_process() { # round
  local threads
  for threads in 1 2; do
    "${ann_bench[@]}" recall --index "$snapshot" "${files[@]}" --k 10 --ef $ef --runs 3 --threads $threads \
      --dataset "$dataset" --json "$work/runs/$dataset/r$1-inprocess-t$threads.json"
  done
}

server_pid=
server_args=() # extra options of this tree's server
start_server() { # system [env...]
  local system=$1; shift
  local data="$work/data-$system"
  rm -rf "$data"
  case $system in
    stub) env "$@" "${stub[@]}" --port $port --dimension $dimension > "$work/$system.log" 2>&1 & ;;
    stubwork) env "${@:2}" "${stub[@]}" --port $port --dimension $dimension --work-micros "$1" > "$work/$system.log" 2>&1 & ;;
    baseline) env "$@" "${theirs[@]}" --snapshot $collection="$snapshot" --port $port --metrics-port $metrics_port \
                --http-port -1 --data-dir "$data" > "$work/$system.log" 2>&1 & ;;
    *) env "$@" "${ours[@]}" --snapshot $collection="$snapshot" --port $port --metrics-port $metrics_port \
         --http-port -1 --data-dir "$data" "${server_args[@]}" > "$work/$system.log" 2>&1 & ;;
  esac
  server_pid=$!
  wait_ready "$system"
}

wait_ready() { # system: the stub once its port accepts, a server once /healthz says its collections are loaded
  local i
  for ((i = 0; i < 600; i++)); do
    kill -0 "$server_pid" 2>/dev/null || { echo "   $1 exited: see $work/$1.log"; return 1; }
    if [[ $1 == stub* ]]; then (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    else curl -sf "http://127.0.0.1:$metrics_port/healthz" > /dev/null 2>&1 && return 0; fi
    sleep 0.2
  done
  echo "   $1 not ready after 120 s"; return 1
}

stop_server() {
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
}

load() { # name [ann-bench load options...]  (waits for the collection itself while the server loads)
  local name=$1; shift
  local timing=(--duration "$duration" --warmup 1s)
  [[ " $* " == *" --duration "* ]] && timing=()
  "${ann_bench[@]}" load --target "http://127.0.0.1:$port" --collection $collection "${files[@]}" --k 10 --ef $ef \
    "${timing[@]}" "$@" --server-pid "$server_pid" --dataset "$dataset" \
    --json "$work/runs/$dataset/$name.json" > "$work/runs/$dataset/$name.log" 2>&1 ||
    echo "   $name failed: see $work/runs/$dataset/$name.log"
  grep -h "CPU per call\|server time" "$work/runs/$dataset/$name.log" | sed "s/^/   $dataset $name: /" || true
}

measure_server() { # round system
  local round=$1 system=$2 callers writers batch
  echo "== round $round, $dataset: $system ($(uptime | sed 's/.*load/load/'))"
  start_server "$system"
  for callers in 1 2 8 32; do load "r$round-$system-search-c$callers" --concurrency $callers; done
  for callers in 1 2; do load "r$round-$system-batch100-c$callers" --operation batch --batch 100 --concurrency $callers; done
  if [[ $streaming == yes ]]; then
    for callers in 1 8; do load "r$round-$system-stream-c$callers" --transport stream --concurrency $callers; done
    if [[ $several == yes && $system != baseline ]]; then
      for callers in 1 8; do
        load "r$round-$system-stream8q-c$callers" --transport stream --queries-per-message 8 --concurrency $callers
      done
    fi
  fi
  for batch in 1 100; do
    for writers in 1 8 32; do
      load "r$round-$system-upsert$batch-w$writers" --operation upsert --batch $batch --concurrency $writers \
        --first-id $((1000000 * (batch + writers))) --timeout 120s --duration 10s --warmup 0s
    done
  done
  stop_server
  if [[ $streaming == yes && $several == yes && $system != baseline ]]; then
    server_args=(--max-stream-in-flight 64)
    start_server "$system"
    server_args=()
    local searches
    for searches in 16 32; do
      load "r$round-$system-stream${searches}q-c8" --transport stream --queries-per-message $searches \
        --stream-window $((2 * searches)) --concurrency 8
    done
    stop_server
  fi
}

measure_stub_with_work() { # round: the stub doing a search's CPU per call (the in-process 1-thread p50 of the round)
  local round=$1 callers micros
  micros=$(python3 -c "import json, sys; print(round(json.load(open(sys.argv[1]))['rows'][0]['points'][0]['p50_us']))" \
    "$work/runs/$dataset/r$round-inprocess-t1.json")
  echo "== round $round, $dataset: stub with $micros µs of work per search ($(uptime | sed 's/.*load/load/'))"
  start_server stubwork "$micros"
  for callers in 1 8; do load "r$round-stubwork-search-c$callers" --concurrency $callers; done
  stop_server
}

measure_variant() { # round name env-list
  local round=$1 name=$2 settings=$3 callers
  echo "== round $round, $dataset: variant $name ($settings)"
  IFS=, read -r -a envs <<< "$settings"
  start_server "variant" "${envs[@]}"
  for callers in 1 8; do load "r$round-variant-$name-search-c$callers" --concurrency $callers; done
  stop_server
}

trap stop_server EXIT
for ((round = 1; round <= rounds; round++)); do
  for dataset in "${dataset_list[@]}"; do
    use_dataset "$dataset"
    in_process "$round"
    if ((round % 2 == 1)); then systems=(stub baseline current); else systems=(current baseline stub); fi
    for system in "${systems[@]}"; do measure_server "$round" "$system"; done
    measure_stub_with_work "$round"
    for variant in $variants; do measure_variant "$round" "${variant%%:*}" "${variant#*:}"; done
  done
done
profiles=()
if [[ ${PROFILE:-1} == 1 && " ${dataset_list[*]} " == *" fashion-mnist "* ]] && command -v perf > /dev/null; then
  echo "== profile"
  rm -rf "$work/profile"
  DURATION="$duration" bench/serving/profile.sh "$work" && profiles=(--profiles "$work/profile")
fi
uptime | tee "$work/load-after.txt"

python3 bench/serving/report.py --runs "$work/runs" --datasets "$datasets" "${profiles[@]}" --baseline "$baseline" --streaming "$streaming" \
  --load-before "$(cat "$work/load-before.txt")" --load-after "$(cat "$work/load-after.txt")" \
  --command "$(printf '%q ' DATASETS="$datasets" DURATION="$duration" ROUNDS="$rounds" BASELINE="$baseline" VARIANTS="$variants" bench/serving/run.sh "$@")" \
  ${NOTE:+--note "$NOTE"} --json "$out.json" --markdown "$out.md"
echo "wrote $out.md and $out.json"
