#!/usr/bin/env bash
# Paired comparison of two ways to run this tree's server: A and B started in turn (A B, B A, ...), each measured with
# `ann-bench load` at 1 and 8 callers (k 10, ef 14, Fashion-MNIST), printing per pair the ratio A/B of server CPU per
# call, of QPS and of the in-server search time (p50), then the medians. On a shared machine one run of each proves nothing; the ratio within a pair does.
#
# usage: [PAIRS=5] [DURATION=3s] [WARMUP=1s] [A_BUILD=DIR] [B_BUILD=DIR] [BENCH_BUILD=DIR] [TRANSPORT=unary|stream]
#        [QUERIES_PER_MESSAGE=1] [CLIENT_A=VAR=v,...] [CLIENT_B=VAR=v,...]
#        bench/serving/pair.sh WORK_DIR 'A: VAR=v,VAR=v or --option value' 'B: the same'
#   WORK_DIR: the one bench/serving/run.sh made (its builds, data and snapshot are used). An entry that starts with
#   "--" is server options; otherwise environment settings separated by ','; "-" is neither.
#   A_BUILD, B_BUILD: another build of the server for A or B (the --artifacts-path of a `dotnet build -c Release
#   src/AnnServer` of another tree; WORK_DIR/build by default): to compare two versions of the code, not settings.
#   BENCH_BUILD: the build whose ann-bench drives the load (WORK_DIR/build by default).
#   TRANSPORT=stream: 1 and 8 SearchStream streams instead of unary callers (CPU and QPS per search);
#   QUERIES_PER_MESSAGE: searches in each stream message (the stream window is twice that: two messages in flight).
#   CLIENT_A, CLIENT_B: environment settings of the client (ann-bench) in A's and B's runs, to compare client settings
#   (the client's CPU per search is printed too).
#   e.g. bench/serving/pair.sh /tmp/serving DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=0 -
#        A_BUILD=/tmp/lever bench/serving/pair.sh /tmp/serving - -
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
work="$1" a="$2" b="$3"
pairs="${PAIRS:-5}" duration="${DURATION:-3s}" warmup="${WARMUP:-1s}"
port=50661 metrics_port=50662
ann_bench=(dotnet "${BENCH_BUILD:-$work/build}/bin/AnnServer.Harness/release/ann-bench.dll")
a_server=(dotnet "${A_BUILD:-$work/build}/bin/AnnServer/release/annserver.dll")
b_server=(dotnet "${B_BUILD:-$work/build}/bin/AnnServer/release/annserver.dll")
transport=()
qpm=${QUERIES_PER_MESSAGE:-1}
[[ ${TRANSPORT:-unary} == stream ]] && transport=(--transport stream)
((qpm > 1)) && transport+=(--queries-per-message "$qpm" --stream-window $((2 * qpm)))
out="$work/pairs/$(date +%H%M%S)"
mkdir -p "$out"
server_pid=

run() { # label setting pair
  local label=$1 setting=$2 pair=$3 envs=() options=() callers i
  if [[ $setting == --* ]]; then read -r -a options <<< "$setting"
  elif [[ $setting != - ]]; then IFS=, read -r -a envs <<< "$setting"; fi
  local server=("${a_server[@]}") client=()
  [[ $label == B ]] && server=("${b_server[@]}")
  local client_setting=${CLIENT_A:-}
  [[ $label == B ]] && client_setting=${CLIENT_B:-}
  [[ -n $client_setting ]] && IFS=, read -r -a client <<< "$client_setting"
  # a message of several searches holds a place of the stream's window for each: room for two such messages
  ((qpm > 1)) && options+=(--max-stream-in-flight $((2 * qpm)))
  rm -rf "$work/data-pair"
  env "${envs[@]}" "${server[@]}" --snapshot fmnist="$work/fmnist.snap" --port $port --metrics-port $metrics_port \
    --http-port -1 --data-dir "$work/data-pair" "${options[@]}" > "$out/server-$label-$pair.log" 2>&1 &
  server_pid=$!
  for ((i = 0; i < 600; i++)); do curl -sf "http://127.0.0.1:$metrics_port/healthz" > /dev/null 2>&1 && break; sleep 0.2; done
  for callers in 1 8; do
    env "${client[@]}" "${ann_bench[@]}" load --target "http://127.0.0.1:$port" --collection fmnist --queries "$work/query.fvecs" \
      --k 10 --ef 14 "${transport[@]}" --concurrency $callers --duration "$duration" --warmup "$warmup" --server-pid "$server_pid" \
      --json "$out/$label-$pair-c$callers.json" > "$out/$label-$pair-c$callers.log" 2>&1 || true
  done
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true
}
trap '[[ -n $server_pid ]] && kill $server_pid 2>/dev/null || true' EXIT
for ((pair = 1; pair <= pairs; pair++)); do
  if ((pair % 2 == 1)); then run A "$a" $pair; run B "$b" $pair; else run B "$b" $pair; run A "$a" $pair; fi
done
python3 - "$out" "$pairs" "$a" "$b" <<'PY'
import json, os, statistics, sys
out, pairs, a, b = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
def get(label, pair, c):
    try:
        l = json.load(open(f"{out}/{label}-{pair}-c{c}.json"))["rows"][0]["load"]
        return l.get("server_cpu_us_per_call"), l["throughput"], l.get("server_time_p50_us"), l.get("client_cpu_us_per_call")
    except (OSError, KeyError, IndexError, ValueError):
        return None, None, None, None
print(f"A = {a} ({os.environ.get('A_BUILD') or 'WORK_DIR/build'})\nB = {b} ({os.environ.get('B_BUILD') or 'WORK_DIR/build'})"
      f"\ntransport: {os.environ.get('TRANSPORT') or 'unary'}")
for c in (1, 8):
    cpu, qps, search, client = [], [], [], []
    for p in range(1, pairs + 1):
        (ca, qa, sa, la), (cb, qb, sb, lb) = get("A", p, c), get("B", p, c)
        if ca and cb: cpu.append(ca / cb)
        if qa and qb: qps.append(qa / qb)
        if sa and sb: search.append(sa / sb)
        if la and lb: client.append(la / lb)
        print(f"  {c} caller(s), pair {p}: server CPU/call A {ca} B {cb} µs; QPS A {qa} B {qb}; in-server p50 A {sa} B {sb} µs; "
              f"client CPU/call A {la} B {lb} µs")
    if cpu:
        print(f"{c} caller(s): server CPU per call A/B median {statistics.median(cpu):.2f} (range {min(cpu):.2f}-{max(cpu):.2f}); "
              f"QPS A/B median {statistics.median(qps):.2f} (range {min(qps):.2f}-{max(qps):.2f}); "
              + (f"in-server search p50 A/B median {statistics.median(search):.2f} (range {min(search):.2f}-{max(search):.2f}); " if search else "")
              + (f"client CPU per call A/B median {statistics.median(client):.2f} (range {min(client):.2f}-{max(client):.2f}); " if client else "")
              + f"{len(cpu)} pairs")
PY
