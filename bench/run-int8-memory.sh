#!/usr/bin/env bash
# Makes bench/results/int8-memory.md: what a real server holds in memory for one collection of the catalogue benchmark
# (1,000,000 × 128, L2: the snapshots bench/run-catalogue.sh saves), float32 against int8, and int8 and int4 with their
# float32 vectors left in the snapshot file (--map-snapshots: the search walks the codes, only the re-rank reads
# vectors). The int4 snapshot is made from the float32 one (`ann-bench recall --quantization int4 --save-index`: the
# codes computed from its vectors, the same links).
# Each variant: a Release server restarted on its data folder, the load time it logs, a closed-loop search load
# (`ann-bench load`, 2 callers, k 10, ef 64) for recall and QPS, and the process's anonymous and file-backed resident
# memory (/proc/PID/status) after the load and after the searches. The last variant runs the int8 server in a memory
# cgroup capped below float32's resident size: file pages (the vectors) must then be dropped and read again, and the
# searches show what that costs. The cap needs root and cgroup v1's memory controller; without it the row is skipped.
# A first run serves a collection of 1,000 points under the same load: what the runtime, the gRPC server and the
# searches' buffers hold whatever the collection's size. The "net" columns take it off, so that the ratio compares what
# each mode costs per point rather than a fixed cost spread over the points.
#
# usage: [CAP_MB=...] [DURATION=20s] bench/run-int8-memory.sh [WORK_DIR]
#   WORK_DIR (default /tmp/catalogue) holds clustered-1000000-l2-annserver-{float32,int8}.snap and data-1000000-seed21/
#   (run `METRICS=l2 bench/run-catalogue.sh` first); the server data folders go to WORK_DIR/int8-memory/.
#   CAP_MB: the cgroup's limit (default: 0.6 × float32's resident bytes after its searches).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:-/tmp/catalogue}"
duration="${DURATION:-20s}"
data="$work/data-1000000-seed21"
float32="$work/clustered-1000000-l2-annserver-float32.snap"
int8="$work/clustered-1000000-l2-annserver-int8.snap"
for f in "$float32" "$int8" "$data/query.fvecs" "$data/gt-l2.ivecs"; do
  [[ -f $f ]] || { echo "missing $f: run METRICS=l2 bench/run-catalogue.sh $work first" >&2; exit 1; }
done
out="$repo/bench/results/int8-memory.md"
scratch="$work/int8-memory"
mkdir -p "$scratch"
cd "$repo"
nice dotnet build -c Release src/AnnServer/AnnServer.csproj -v q -nologo >/dev/null
nice dotnet build -c Release bench/AnnServer.Harness -v q -nologo >/dev/null
nice dotnet build -c Release tools/AnnServer.Build -v q -nologo >/dev/null
server=(dotnet "$repo/src/AnnServer/bin/Release/net10.0/annserver.dll")
ann_bench=(dotnet "$repo/bench/AnnServer.Harness/bin/Release/net10.0/ann-bench.dll")
ann_build=(dotnet "$repo/tools/AnnServer.Build/bin/Release/net10.0/ann-build.dll")
port=50391
points=1000000

kib() { awk -v key="$1:" '$1 == key { print $2 }' "/proc/$2/status"; }

wait_loaded() { # log pid
  for _ in $(seq 1 600); do
    grep -q "Loaded collection" "$1" && return 0
    kill -0 "$2" 2>/dev/null || { echo "the server exited: $(tail -3 "$1")" >&2; return 1; }
    sleep 0.2
  done
  echo "the server did not load in 120 s" >&2; return 1
}

# A data folder per snapshot, made once: the import copies the file in, a restart then loads it as a server does.
fixed="$scratch/fixed-1000.snap"
if [[ ! -f $fixed ]]; then
  "${ann_bench[@]}" datasets clustered --out "$scratch/fixed-1000" --points 1000 --queries 10 --dimension 128 --seed 21 >/dev/null
  "${ann_build[@]}" build --input "$scratch/fixed-1000/base.fvecs" --metric l2 --m 16 --ef-construction 200 --output "$fixed" >/dev/null
fi
int4="$scratch/int4.snap"
if [[ ! -f $int4 ]]; then
  "${ann_bench[@]}" recall --index "$float32" --quantization int4 --queries "$data/query.fvecs" --ground-truth "$data/gt-l2.ivecs" \
    --max-queries 100 --ef 64 --warmup 0 --save-index "$int4" >/dev/null
fi
for kind in fixed float32 int8 int4; do
  folder="$scratch/data-$kind"
  [[ -d $folder/collections ]] && continue
  snap="$float32"; [[ $kind == int8 ]] && snap="$int8"; [[ $kind == int4 ]] && snap="$int4"; [[ $kind == fixed ]] && snap="$fixed"
  "${server[@]}" --port $port --metrics-port 0 --http-port -1 --data-dir "$folder" --snapshot "c1m=$snap" >"$scratch/import-$kind.log" 2>&1 &
  pid=$!
  wait_loaded "$scratch/import-$kind.log" $pid
  kill $pid; wait $pid 2>/dev/null || true
done

rows=()
run() { # name kind map cap_mb
  local name="$1" kind="$2" map="$3" cap="$4" log="$scratch/$1.log" cgroup=""
  local launch=("${server[@]}" --port $port --metrics-port 0 --http-port -1 --data-dir "$scratch/data-$kind" --map-snapshots "$map")
  if [[ $cap != - ]]; then
    cgroup=/sys/fs/cgroup/memory/annserver-int8-memory
    if ! mkdir -p "$cgroup" 2>/dev/null || ! echo $((cap << 20)) >"$cgroup/memory.limit_in_bytes" 2>/dev/null; then
      echo "no memory cgroup here (needs root and cgroup v1's memory controller): '$name' skipped" >&2; return 0
    fi
    sync; echo 1 >/proc/sys/vm/drop_caches 2>/dev/null || true
    sh -c 'echo $$ >"$0/cgroup.procs"; exec "$@"' "$cgroup" "${launch[@]}" >"$log" 2>&1 &
  else
    "${launch[@]}" >"$log" 2>&1 &
  fi
  local pid=$!
  wait_loaded "$log" $pid
  sleep 1
  local load_ms anon_loaded file_loaded
  load_ms=$(grep -o 'in [0-9]* ms' "$log" | head -1 | tr -dc 0-9)
  anon_loaded=$(kib RssAnon $pid); file_loaded=$(kib RssFile $pid)
  local truth=(--ground-truth "$data/gt-l2.ivecs")
  [[ $kind == fixed ]] && truth=()
  nice "${ann_bench[@]}" load --target "http://127.0.0.1:$port" --collection c1m --queries "$data/query.fvecs" \
    "${truth[@]}" --k 10 --ef 64 --concurrency 2 --duration "$duration" --warmup 2s \
    --json "$scratch/$name.json" >/dev/null
  local anon file
  anon=$(kib RssAnon $pid); file=$(kib RssFile $pid)
  kill $pid; wait $pid 2>/dev/null || true
  [[ -n $cgroup ]] && rmdir "$cgroup" 2>/dev/null || true
  local recall_qps
  recall_qps=$(/usr/bin/python3 -c "import json,sys; p=json.load(open(sys.argv[1]))['rows'][0]['points'][0]; r=p.get('recall'); print(f\"{'-' if r is None else format(r, '.4f')} {p['qps']:.0f} {p['p99_us']:.0f}\")" "$scratch/$name.json")
  rows+=("$name|$load_ms|$anon_loaded|$file_loaded|$anon|$file|${recall_qps// /|}")
  echo "$name: load $load_ms ms; resident after load $anon_loaded + $file_loaded KiB, after searches $anon + $file KiB; recall, QPS, p99 µs: $recall_qps"
}

uptime | tee "$scratch/load-before.txt"
run "fixed cost: 1,000 points" fixed false -
fixed_anon_loaded=$(echo "${rows[0]}" | awk -F'|' '{print $3}')
fixed_anon=$(echo "${rows[0]}" | awk -F'|' '{print $5}')
run "float32" float32 false -
run "int8" int8 false -
run "int8, vectors in the file" int8 true -
run "int4, vectors in the file" int4 true -
float32_total=$(echo "${rows[1]}" | awk -F'|' '{print $5 + $6}')
float32_owned=$(echo "${rows[1]}" | awk -F'|' '{print $5}')
float32_net=$((float32_owned - fixed_anon))
cap="${CAP_MB:-$(( float32_total * 6 / 10 / 1024 ))}"
run "int8, vectors in the file, capped at $cap MiB" int8 true "$cap"
uptime | tee "$scratch/load-after.txt"

{
  echo "# int8 and int4 with the vectors left in the file: a server's memory at 1,000,000 × 128"
  echo
  echo "One collection of the catalogue benchmark (1,000,000 × 128 clustered, L2, M 16, efConstruction 200; the snapshots of"
  echo "bench/run-catalogue.sh) served by a Release server restarted on its data folder. Load: the time the server logs for"
  echo "it. Searches: \`ann-bench load\`, closed loop, 2 callers, k 10, ef 64, $duration, over gRPC on the same 2 cores."
  echo "Resident: the server's RssAnon (memory it owns) and RssFile (pages of mapped files) from /proc, in bytes per point."
  echo "Measured $(date -u +%Y-%m-%dT%H:%M:%SZ); load average before/after: $(cut -d, -f3- "$scratch/load-before.txt" | sed 's/.*average: //') / $(sed 's/.*average: //' "$scratch/load-after.txt")."
  echo
  echo '```'
  echo "bench/run-int8-memory.sh $work"
  echo '```'
  echo
  echo "| variant | load | owned B/pt after load | file B/pt after load | owned B/pt after searches | file B/pt after searches | net owned B/pt after searches | net owned ÷ float32's | recall@10 | QPS | p99 µs |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for row in "${rows[@]:1}"; do
    IFS='|' read -r name load anon_l file_l anon file recall qps p99 <<<"$row"
    printf '| %s | %.2f s | %d | %d | %d | %d | %d | %.2f× | %s | %s | %s |\n' "$name" "$(echo "$load / 1000" | bc -l)" \
      $((anon_l * 1024 / points)) $((file_l * 1024 / points)) $((anon * 1024 / points)) $((file * 1024 / points)) \
      $(((anon - fixed_anon) * 1024 / points)) "$(echo "($anon - $fixed_anon) / $float32_net" | bc -l)" "$recall" "$qps" "$p99"
  done
  echo
  echo "The fixed cost, a server with a collection of 1,000 points under the same searches, owned $((fixed_anon_loaded / 1024)) MiB after"
  echo "its load and $((fixed_anon / 1024)) MiB after the searches (the .NET runtime, the gRPC server, the searches' buffers and code)."
  echo "\"net\" takes the latter off each row: what the collection itself owns per point."
  echo
  echo "Owned memory is what the collection needs; file pages are the page cache's, shared and dropped under memory"
  echo "pressure. The capped row is the test of that claim: the server runs in a cgroup of $cap MiB, below float32's"
  echo "$((float32_total / 1024)) MiB, so the vectors' pages are evicted and read again as re-ranks need them. A re-rank reads"
  echo "its ef candidates' vectors (64 here) at random places in the file, each a page fault of its own, one after the"
  echo "other: where those faults go to the disk, the capped row's QPS is what they cost. The gross owned columns include the"
  echo "fixed cost, which is why they grow between load and searches."
} >"$out"
echo "wrote $out"
