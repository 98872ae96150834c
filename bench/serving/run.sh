#!/usr/bin/env bash
# Makes bench/results/serving.{md,json}: what serving a search costs, from the engine in-process to unary gRPC, on
# Fashion-MNIST (k 10, ef 14), for this tree, a baseline commit built in the same run, and a stub server (the floor).
#
# usage: [DURATION=6s] [ROUNDS=1] [BASELINE=b751304] [OUT=bench/results/serving] [VARIANTS="name:VAR=v,VAR=v ..."]
#        [NOTE="..."] bench/serving/run.sh [WORK_DIR]
#   WORK_DIR (default /tmp/serving) holds the data files, the builds, the snapshot, the servers' data and every run's
#   JSON. DURATION: measured time of each load run (after 1 s of warm-up). ROUNDS: how often each server is started
#   and measured; the systems take turns at going first. BASELINE: the commit measured as "baseline" (built from a
#   temporary git worktree in WORK_DIR). VARIANTS: extra runs of this tree's server with environment settings, e.g.
#   "spin0:DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=0 gcserver:DOTNET_gcServer=1", measured at 1 and 8 callers.
#   OUT: where the .md and .json go (elsewhere for a trial, so bench/results stays as it is).
# Needs: apt-get install -y dataset-fashion-mnist; the .NET SDK; git; python3.
#
# What is measured, and how:
# - in-process: `ann-bench recall` on the snapshot at 1 and 2 threads (best of 3 passes over the 10,000 queries);
# - per server (stub, baseline, this tree): `ann-bench load` closed loop, Search at 1/2/8/32 callers, SearchBatch of
#   100 at 1 and 2 callers, streaming (when ann-bench has `--transport stream`), then Upsert of 1 and 100 points at
#   1/8/32 writers (new ids, after the searches, so the searches see the snapshot only; a deadline of 120 s, since 32
#   writers of 100 points queue behind each other's graph inserts; 10 s and no warm-up, so that calls of seconds, sent
#   at the start, are counted);
# - CPU per call: the server's (/proc/PID/stat, utime + stime) and the client's, read by ann-bench at the start and
#   end of the measured time: on a machine shared with other work it is steadier than QPS.
# Client and servers share this machine's cores, as the issue's figures do: QPS counts the client's work too.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
work="${1:-/tmp/serving}"
duration="${DURATION:-6s}"
rounds="${ROUNDS:-1}"
baseline="${BASELINE:-b751304}"
out="${OUT:-$repo/bench/results/serving}"
variants="${VARIANTS:-}"
port=50651
metrics_port=50652
[[ "$rounds" =~ ^[0-9]+$ ]] || { echo "ROUNDS must be a whole number, got '$rounds'" >&2; exit 1; }
mkdir -p "$work/runs"
rm -f "$work"/runs/*.json
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

echo "== data"
[[ -f "$work/base.fvecs" ]] || "${ann_bench[@]}" datasets fashion-mnist --out "$work"
[[ -f "$work/fmnist.snap" ]] ||
  "${ann_build[@]}" build --input "$work/base.fvecs" --metric l2 --m 16 --ef-construction 200 --threads 2 --output "$work/fmnist.snap"
files=(--queries "$work/query.fvecs" --ground-truth "$work/gt.ivecs")
streaming=no
"${ann_bench[@]}" load --help | grep -q -- '--transport' && streaming=yes
uptime | tee "$work/load-before.txt"

in_process() { # round
  "${ann_bench[@]}" recall --index "$work/fmnist.snap" "${files[@]}" --k 10 --ef 14 --runs 3 --threads 1 \
    --dataset fashion-mnist --json "$work/runs/r$1-inprocess-t1.json"
  "${ann_bench[@]}" recall --index "$work/fmnist.snap" "${files[@]}" --k 10 --ef 14 --runs 3 --threads 2 \
    --dataset fashion-mnist --json "$work/runs/r$1-inprocess-t2.json"
}

server_pid=
start_server() { # system [env...]
  local system=$1; shift
  local data="$work/data-$system"
  rm -rf "$data"
  case $system in
    stub) env "$@" "${stub[@]}" --port $port --dimension 784 > "$work/$system.log" 2>&1 & ;;
    baseline) env "$@" "${theirs[@]}" --snapshot fmnist="$work/fmnist.snap" --port $port --metrics-port $metrics_port \
                --http-port -1 --data-dir "$data" > "$work/$system.log" 2>&1 & ;;
    *) env "$@" "${ours[@]}" --snapshot fmnist="$work/fmnist.snap" --port $port --metrics-port $metrics_port \
         --http-port -1 --data-dir "$data" > "$work/$system.log" 2>&1 & ;;
  esac
  server_pid=$!
  wait_ready "$system"
}

wait_ready() { # system: the stub once its port accepts, a server once /healthz says its collections are loaded
  local i
  for ((i = 0; i < 600; i++)); do
    kill -0 "$server_pid" 2>/dev/null || { echo "   $1 exited: see $work/$1.log"; return 1; }
    if [[ $1 == stub ]]; then (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
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
  "${ann_bench[@]}" load --target "http://127.0.0.1:$port" --collection fmnist "${files[@]}" --k 10 --ef 14 \
    "${timing[@]}" "$@" --server-pid "$server_pid" --dataset fashion-mnist \
    --json "$work/runs/$name.json" > "$work/runs/$name.log" 2>&1 ||
    echo "   $name failed: see $work/runs/$name.log"
  grep -h "CPU per call\|server time" "$work/runs/$name.log" | sed "s/^/   $name: /" || true
}

measure_server() { # round system
  local round=$1 system=$2 callers writers batch
  echo "== round $round: $system ($(uptime | sed 's/.*load/load/'))"
  start_server "$system"
  for callers in 1 2 8 32; do load "r$round-$system-search-c$callers" --concurrency $callers; done
  for callers in 1 2; do load "r$round-$system-batch100-c$callers" --operation batch --batch 100 --concurrency $callers; done
  if [[ $streaming == yes ]]; then
    for callers in 1 8; do load "r$round-$system-stream-c$callers" --transport stream --concurrency $callers; done
  fi
  for batch in 1 100; do
    for writers in 1 8 32; do
      load "r$round-$system-upsert$batch-w$writers" --operation upsert --batch $batch --concurrency $writers \
        --first-id $((1000000 * (batch + writers))) --timeout 120s --duration 10s --warmup 0s
    done
  done
  stop_server
}

measure_variant() { # round name env-list
  local round=$1 name=$2 settings=$3 callers
  echo "== round $round: variant $name ($settings)"
  IFS=, read -r -a envs <<< "$settings"
  start_server "variant" "${envs[@]}"
  for callers in 1 8; do load "r$round-variant-$name-search-c$callers" --concurrency $callers; done
  stop_server
}

trap stop_server EXIT
for ((round = 1; round <= rounds; round++)); do
  in_process "$round"
  if ((round % 2 == 1)); then systems=(stub baseline current); else systems=(current baseline stub); fi
  for system in "${systems[@]}"; do measure_server "$round" "$system"; done
  for variant in $variants; do measure_variant "$round" "${variant%%:*}" "${variant#*:}"; done
done
uptime | tee "$work/load-after.txt"

python3 bench/serving/report.py --runs "$work/runs" --baseline "$baseline" --streaming "$streaming" \
  --load-before "$(cat "$work/load-before.txt")" --load-after "$(cat "$work/load-after.txt")" \
  --command "$(printf '%q ' DURATION="$duration" ROUNDS="$rounds" BASELINE="$baseline" VARIANTS="$variants" bench/serving/run.sh "$@")" \
  ${NOTE:+--note "$NOTE"} --json "$out.json" --markdown "$out.md"
echo "wrote $out.md and $out.json"
