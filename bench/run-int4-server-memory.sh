#!/usr/bin/env bash
# What a real server holds for one int4 collection of 1,000,000 × 128 (L2) with --map-snapshots, measured as
# bench/run-int8-memory.sh measures float32 and int8 (compare with bench/results/int8-memory.md): the int4 snapshot is
# made from the catalogue benchmark's float32 snapshot (ann-bench recall --quantization int4 --save-index: the codes
# computed from its vectors, the same links), imported into a fresh data folder, the server restarted on it with
# --map-snapshots, and its RssAnon (memory it owns) and RssFile (pages of the mapped snapshot) read from /proc after
# the load and after `ann-bench load` (2 callers, k 10, ef 64). Prints the figures; the scratch files are removed.
#
# usage: [DURATION=10s] bench/run-int4-server-memory.sh [CATALOGUE_DIR]   (default /tmp/catalogue: run-catalogue.sh's)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:-/tmp/catalogue}"
duration="${DURATION:-10s}"
data="$work/data-1000000-seed21"
float32="$work/clustered-1000000-l2-annserver-float32.snap"
for f in "$float32" "$data/query.fvecs" "$data/gt-l2.ivecs"; do
  [[ -f $f ]] || { echo "missing $f: run METRICS=l2 bench/run-catalogue.sh $work first" >&2; exit 1; }
done
scratch="$work/int4-server-memory"
rm -rf "$scratch"; mkdir -p "$scratch"
trap 'rm -rf "$scratch/data" "$scratch/int4.snap"' EXIT
cd "$repo"
nice dotnet build -c Release src/AnnServer/AnnServer.csproj -v q -nologo >/dev/null
nice dotnet build -c Release bench/AnnServer.Harness -v q -nologo >/dev/null
server=(dotnet "$repo/src/AnnServer/bin/Release/net10.0/annserver.dll")
ann_bench=(dotnet "$repo/bench/AnnServer.Harness/bin/Release/net10.0/ann-bench.dll")
port=50397
points=1000000
kib() { awk -v key="$1:" '$1 == key { print $2 }' "/proc/$2/status"; }
wait_loaded() { # log pid
  for _ in $(seq 1 900); do
    grep -q "Loaded collection" "$1" && return 0
    kill -0 "$2" 2>/dev/null || { echo "the server exited: $(tail -3 "$1")" >&2; return 1; }
    sleep 0.2
  done
  echo "the server did not load in 180 s" >&2; return 1
}

"${ann_bench[@]}" recall --index "$float32" --quantization int4 --queries "$data/query.fvecs" --ground-truth "$data/gt-l2.ivecs" \
  --max-queries 100 --ef 64 --warmup 0 --save-index "$scratch/int4.snap" >/dev/null
"${server[@]}" --port $port --metrics-port 0 --http-port -1 --data-dir "$scratch/data" --snapshot "c1m=$scratch/int4.snap" >"$scratch/import.log" 2>&1 &
pid=$!; wait_loaded "$scratch/import.log" $pid; kill $pid; wait $pid 2>/dev/null || true

"${server[@]}" --port $port --metrics-port 0 --http-port -1 --data-dir "$scratch/data" --map-snapshots true >"$scratch/run.log" 2>&1 &
pid=$!; wait_loaded "$scratch/run.log" $pid; sleep 1
load_ms=$(grep -o 'in [0-9]* ms' "$scratch/run.log" | head -1 | tr -dc 0-9)
anon_loaded=$(kib RssAnon $pid); file_loaded=$(kib RssFile $pid)
nice "${ann_bench[@]}" load --target "http://127.0.0.1:$port" --collection c1m --queries "$data/query.fvecs" \
  --ground-truth "$data/gt-l2.ivecs" --k 10 --ef 64 --concurrency 2 --duration "$duration" --warmup 2s --json "$scratch/load.json" >/dev/null
anon=$(kib RssAnon $pid); file=$(kib RssFile $pid)
kill $pid; wait $pid 2>/dev/null || true
echo "int4, vectors in the file: load ${load_ms} ms; bytes/point owned $((anon_loaded * 1024 / points)) and file $((file_loaded * 1024 / points)) after the load," \
     "owned $((anon * 1024 / points)) and file $((file * 1024 / points)) after $duration of searches; $(uptime | sed 's/.*load/load/')"
/usr/bin/python3 -c "import json,sys; p=json.load(open(sys.argv[1]))['rows'][0]['points'][0]; print(f\"recall@10 {p['recall']:.4f}, {p['qps']:.0f} QPS, p99 {p['p99_us']:.0f} µs (ef 64, 2 callers)\")" "$scratch/load.json"
