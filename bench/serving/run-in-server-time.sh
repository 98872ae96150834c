#!/usr/bin/env bash
# Makes bench/results/in-server-time.md: where the server's search time goes beyond the engine's in-process time
# (issue 20's goal: in-server search time within 1.1x in-process), on Fashion-MNIST (k 10, ef 14), as three paired
# measurements on a copy of this tree's server with prototype instrumentation (bench/prototypes/in-server-time.patch,
# applied to a temporary worktree, never to the product):
#   1. one process, no gRPC traffic: a thread in the server searches every query 16 times over, alternating passes
#      between the served collection (Collection -> HnswIndex) and the same snapshot loaded again as a bare index, as
#      `ann-bench recall` loads it. Equal p50s: the collection layer, the loader, the GC mode and the server's JIT
#      code cost the engine nothing.
#   2. PAIRS pairs, one server kept up: `ann-bench recall` (1 thread, one pass over the 10,000 queries) in its own
#      process, then 3 s of unary Search at 1 caller; the server prints, for the same calls, the p50 of the request's
#      own search ("cold": the transport ran on the core just before) and of a second search run right after it on
#      the same thread for a query of 500 requests before ("warm": a search straight after a search, as in-process).
#   3. PAIRS pairs: `ann-bench recall` alone, then again while the stub server (no search) answers RATE calls/s from
#      an open-loop client on the same machine: what the transport alone, at a server's call rate, costs a search
#      that shares the machine with it.
# This VM exposes no hardware performance counters (`perf stat -e cache-misses` reads <not supported>), so cache
# effects are shown by timing only.
#
# usage: [PAIRS=6] [RATE=5000] [BASE=HEAD] [OUT=bench/results/in-server-time.md] bench/serving/run-in-server-time.sh [WORK_DIR]
#   WORK_DIR (default /tmp/in-server-time): data, builds, logs. Needs: apt-get install -y dataset-fashion-mnist; the
#   .NET SDK; git; python3. Run it on a quiet machine: each pair's two figures are seconds apart, so a slow drift of
#   the machine's speed cancels in the ratio, but another process on the 2 cores does not.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
work="${1:-/tmp/in-server-time}"
pairs="${PAIRS:-6}"
rate="${RATE:-5000}"
base="$(git -C "$repo" rev-parse --verify "${BASE:-HEAD}^{commit}")" # resolved here: in the kept worktree HEAD is its own
out="${OUT:-$repo/bench/results/in-server-time.md}"
port=50671 metrics_port=50672 stub_port=50673
mkdir -p "$work/logs"
cd "$repo"

echo "== builds"
src="$work/src"
[[ -d "$src" ]] || git worktree add --detach "$src" "$base"
git -C "$src" checkout -q --detach "$base" && git -C "$src" checkout -q -- .
git -C "$src" apply "$repo/bench/prototypes/in-server-time.patch"
(cd "$src" && dotnet build -c Release src/AnnServer --artifacts-path "$work/build" -v q -nologo)
dotnet build -c Release bench/AnnServer.Harness --artifacts-path "$work/build" -v q -nologo
dotnet build -c Release bench/AnnServer.StubServer --artifacts-path "$work/build" -v q -nologo
dotnet build -c Release tools/AnnServer.Build --artifacts-path "$work/build" -v q -nologo
ann_bench=(dotnet "$work/build/bin/AnnServer.Harness/release/ann-bench.dll")
server=(dotnet "$work/build/bin/AnnServer/release/annserver.dll")
stub=(dotnet "$work/build/bin/AnnServer.StubServer/release/ann-stub-server.dll")

echo "== data"
[[ -f "$work/gt.ivecs" ]] || "${ann_bench[@]}" datasets fashion-mnist --out "$work"
if [[ ! -f "$work/fmnist.snap" ]]; then
  dotnet "$work/build/bin/AnnServer.Build/release/ann-build.dll" build --input "$work/base.fvecs" --metric l2 --m 16 \
    --ef-construction 200 --threads 2 --output "$work/fmnist.snap.tmp"
  mv "$work/fmnist.snap.tmp" "$work/fmnist.snap"
fi
files=(--queries "$work/query.fvecs" --ground-truth "$work/gt.ivecs")

server_pid=
start_server() { # env...
  rm -rf "$work/data"
  env "$@" "${server[@]}" --snapshot fmnist="$work/fmnist.snap" --port $port --metrics-port $metrics_port --http-port -1 \
    --data-dir "$work/data" > "$work/logs/server.log" 2>&1 &
  server_pid=$!
  local i
  for ((i = 0; i < 600; i++)); do
    curl -sf "http://127.0.0.1:$metrics_port/healthz" > /dev/null 2>&1 && return 0
    kill -0 "$server_pid" 2>/dev/null || { echo "server exited: see $work/logs/server.log" >&2; return 1; }
    sleep 0.2
  done
  echo "server not ready after 120 s" >&2; return 1
}
stop_server() { kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; }
trap stop_server EXIT
in_process_p50() { # one pass of ann-bench recall, 1 thread; prints its p50 in µs
  "${ann_bench[@]}" recall --index "$work/fmnist.snap" "${files[@]}" --k 10 --ef 14 --runs 1 --threads 1 --dataset fmnist \
    --json "$work/logs/recall.json" > "$work/logs/recall.log" 2>&1
  python3 -c "import json, sys; print(json.load(open(sys.argv[1]))['rows'][0]['points'][0]['p50_us'])" "$work/logs/recall.json"
}
search_load() { # target duration [options...]: unary Search, closed loop unless --rate is given
  local target=$1 duration=$2; shift 2
  "${ann_bench[@]}" load --target "$target" --collection fmnist "${files[@]}" --k 10 --ef 14 --duration "$duration" "$@" \
    > "$work/logs/load.log" 2>&1
}
uptime | tee "$work/load-before.txt"

echo "== 1. one process, no traffic: the collection against a bare index"
start_server INPROC_QUERIES="$work/query.fvecs" INPROC_SNAPSHOT="$work/fmnist.snap"
search_load "http://127.0.0.1:$port" 1s --warmup 0s --concurrency 1 # warms the search path and starts the loop
for ((i = 0; i < 120; i++)); do
  (($(grep -c INPROCLOOP "$work/logs/server.log" || true) >= 16)) && break
  sleep 1
done
grep INPROCLOOP "$work/logs/server.log" > "$work/part1.txt"
stop_server

echo "== 2. paired: in-process, then the server's cold and warm searches at 1 caller"
start_server ENGINE_PAIR=1
search_load "http://127.0.0.1:$port" 5s --warmup 1s --concurrency 1
: > "$work/part2.txt"
for ((pair = 1; pair <= pairs; pair++)); do
  in_process=$(in_process_p50)
  lines=$(grep -c ENGINEPAIR "$work/logs/server.log" || true)
  search_load "http://127.0.0.1:$port" 3s --warmup 1s --warmup-settle-limit 2s --concurrency 1 --server-pid "$server_pid"
  sleep 0.2
  pair_line=$(grep ENGINEPAIR "$work/logs/server.log" | tail -n +$((lines + 1)) | tail -1)
  echo "$pair $in_process $pair_line" | tee -a "$work/part2.txt"
done
stop_server

echo "== 3. paired: in-process alone, then beside the stub answering $rate calls/s"
"${stub[@]}" --port $stub_port --dimension 784 > "$work/logs/stub.log" 2>&1 &
stub_pid=$!
sleep 3
: > "$work/part3.txt"
for ((pair = 1; pair <= pairs; pair++)); do
  alone=$(in_process_p50)
  search_load "http://127.0.0.1:$stub_port" 30s --warmup 1s --warmup-settle-limit 0s --rate "$rate" --concurrency 8 &
  load_pid=$!
  sleep 4
  beside=$(in_process_p50)
  kill $load_pid 2>/dev/null || true; wait $load_pid 2>/dev/null || true
  echo "$pair $alone $beside" | tee -a "$work/part3.txt"
done
kill $stub_pid; wait $stub_pid 2>/dev/null || true
uptime | tee "$work/load-after.txt"

python3 - "$work" "$out" "$pairs" "$rate" <<'EOF'
import re, statistics, sys
work, out, pairs, rate = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
def p50(line): return float(re.search(r"p50=([0-9.]+)", line).group(1))
part1 = [l for l in open(f"{work}/part1.txt")]
collection = [p50(l) for l in part1 if "collection" in l][2:]  # the first passes run while the JIT settles
bare = [p50(l) for l in part1 if "own-index" in l][2:]
rows2 = []
for l in open(f"{work}/part2.txt"):
    m = re.match(r"(\d+) ([0-9.]+) .*cold_p50=([0-9.]+) warm_p50=([0-9.]+)", l)
    if m: rows2.append(tuple(float(x) for x in m.groups()))
rows3 = [tuple(float(x) for x in l.split()) for l in open(f"{work}/part3.txt") if l.strip()]
med = lambda xs: statistics.median(xs) if xs else float("nan")
with open(out, "w") as f:
    f.write("# In-server search time against in-process, on Fashion-MNIST\n\n")
    f.write(f"Made by `PAIRS={pairs} RATE={rate} bench/serving/run-in-server-time.sh` (its header says how each part is measured). "
            "Fashion-MNIST, 60,000 × 784, L2, snapshot M 16, efConstruction 200; k 10, ef 14 (recall 0.96). "
            "Client and server share the machine's 2 cores. This VM exposes no hardware counters, so cache effects are "
            "read from timings only.\n\n")
    f.write(f"Load average before: `{open(work + '/load-before.txt').read().strip()}`; after: `{open(work + '/load-after.txt').read().strip()}`.\n\n")
    f.write("## 1. One process, no gRPC traffic: the served collection against a bare index\n\n")
    f.write("p50 µs of each pass over the 10,000 queries, passes alternating, the first two of each left out (JIT).\n\n")
    f.write("| path | passes | p50 µs, median | range |\n|---|---:|---:|---|\n")
    for name, xs in (("served collection (Collection → HnswIndex)", collection), ("bare index (as ann-bench recall)", bare)):
        if xs: f.write(f"| {name} | {len(xs)} | {med(xs):.1f} | {min(xs):.1f}–{max(xs):.1f} |\n")
    if collection and bare:
        f.write(f"\nCollection ÷ bare: **{med(collection) / med(bare):.3f}**.\n")
    f.write("\n## 2. Paired: in-process, then the server at 1 caller\n\n")
    f.write("In-process: `ann-bench recall`, 1 thread, one pass. Cold: the p50 of the requests' own searches (the "
            "transport ran on the core just before). Warm: the p50 of a second search the server runs right after each, "
            "on the same thread, for the query of 500 requests before (a search straight after a search, as in-process).\n\n")
    f.write("| pair | in-process p50 µs | cold p50 µs | warm p50 µs | cold ÷ in-process | warm ÷ in-process | cold ÷ warm |\n|---:|---:|---:|---:|---:|---:|---:|\n")
    for pair, ip, cold, warm in rows2:
        f.write(f"| {int(pair)} | {ip:.1f} | {cold:.1f} | {warm:.1f} | {cold / ip:.2f} | {warm / ip:.2f} | {cold / warm:.3f} |\n")
    if rows2:
        f.write(f"| **median** | | | | **{med([c / i for _, i, c, _ in rows2]):.2f}** | **{med([w / i for _, i, _, w in rows2]):.2f}** | **{med([c / w for _, _, c, w in rows2]):.3f}** |\n")
    f.write(f"\n## 3. Paired: in-process alone, then beside the stub answering {rate} calls/s\n\n")
    f.write("The stub server (no search) and an open-loop client on the same machine, at about a server's call rate at "
            "1 caller: the transport's own work, without the server.\n\n")
    f.write("| pair | alone p50 µs | beside the stub p50 µs | ratio |\n|---:|---:|---:|---:|\n")
    for pair, alone, beside in rows3:
        f.write(f"| {int(pair)} | {alone:.1f} | {beside:.1f} | {beside / alone:.3f} |\n")
    if rows3:
        f.write(f"| **median** | | | **{med([b / a for _, a, b in rows3]):.3f}** |\n")
print(f"wrote {out}")
EOF
