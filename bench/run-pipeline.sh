#!/usr/bin/env bash
# Makes bench/results/pipeline.{md,json}: the daily refresh of issue 19, measured step by step on N × 128 generated
# vectors (`ann-bench datasets clustered`, seed 21, as bench/run-catalogue.sh) and on Fashion-MNIST (60,000 × 784):
#   1. ann-build of the fvecs on 2 threads against hnswlib's build (-O3 -march=native, same data, M 16, efConstruction
#      200, 2 threads), ROUNDS paired rounds taking turns at going first: build time, whole-process wall time and peak
#      resident memory (/usr/bin/time -v) of each, the ratio per pair and its median (clustered vectors only);
#   2. ann-build from Parquet written by DuckDB from the same vectors (one file; a folder of 8 part files with _SUCCESS,
#      as Spark leaves it) against ann-build from the fvecs, same options, in the same rounds: read phase and total;
#   3. LoadSnapshot of the fvecs build into a running Release server, from its --import-dir and through the
#      UploadSnapshot stream: time from the call to serving, against the file size (MB/s), ROUNDS times each;
#   4. a blue/green switch under `ann-bench load --rate R` on an alias (R: RATE, or half the closed-loop capacity the
#      script measures first): LoadSnapshot of v2 (the Parquet build) while v1 serves, SwitchAlias v1 → v2, drop v1,
#      3 s apart (`ann-bench admin blue-green`); errors, and p99 per second around each step against the steady seconds
#      before (`ann-bench load --timeline`). SWITCH_SECONDS (default 60): the load's measured time.
# Builds run at the priority the script is given (run it under `nice` on a shared machine, as the figures are ratios).
#
# usage: [ROUNDS=2] [SEED=21] [RATE=R] [SWITCH_SECONDS=60] [FMNIST=1] [OUT=...] [NOTE="..."] bench/run-pipeline.sh [--points N] [WORK_DIR]
#   --points N: base vectors (default 1,000,000; 100,000 for a quick look, which writes to WORK_DIR unless OUT is set).
#   WORK_DIR (default /tmp/pipeline): tools, data (generated once per size and seed, Parquet files included, and kept),
#   every run's output under runs-N/.
#   FMNIST=0 leaves Fashion-MNIST out (it needs apt-get install -y dataset-fashion-mnist).
# Needs: the .NET SDK; g++ and libhnswlib-dev; node and npm (installs @duckdb/node-api into WORK_DIR/duckdb); curl.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
points=1000000
if [[ "${1:-}" == --points ]]; then points="$2"; shift 2; fi
[[ "$points" =~ ^[1-9][0-9]*$ ]] || { echo "--points must be a positive whole number, got '$points'" >&2; exit 1; }
work="${1:-/tmp/pipeline}"
rounds="${ROUNDS:-2}"
seed="${SEED:-21}"
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "ROUNDS must be a positive whole number, got '$rounds'" >&2; exit 1; }
[[ -z "${RATE:-}" || "${RATE}" =~ ^[1-9][0-9]*$ ]] || { echo "RATE must be a positive whole number of searches per second, got '$RATE'" >&2; exit 1; }
if [[ -n "${OUT:-}" ]]; then out="$OUT"
elif ((points == 1000000)); then out="$repo/bench/results/pipeline"
else out="$work/pipeline-$points"; fi
runs="$work/runs-$points"
mkdir -p "$work"
rm -rf "$runs"; mkdir -p "$runs"
cd "$repo"
command_line="bench/run-pipeline.sh --points $points (ROUNDS=$rounds${RATE:+ RATE=$RATE}${FMNIST:+ FMNIST=$FMNIST})"

# --- tools -------------------------------------------------------------------------------------------------------
for project in bench/AnnServer.Harness tools/AnnServer.Build src/AnnServer; do
  dotnet build -c Release "$project" --artifacts-path "$work/build" -v q -nologo > /dev/null
done
ann_bench=(dotnet "$work/build/bin/AnnServer.Harness/release/ann-bench.dll")
ann_build=(dotnet "$work/build/bin/AnnServer.Build/release/ann-build.dll")
annserver=(dotnet "$work/build/bin/AnnServer/release/annserver.dll")
hnswlib_native="$work/hnswlib-native"
[[ "$hnswlib_native" -nt "$repo/bench/peers/hnswlib_native.cpp" ]] ||
  g++ -O3 -march=native -std=c++17 -pthread -o "$hnswlib_native" "$repo/bench/peers/hnswlib_native.cpp"
# node finds @duckdb/node-api beside the script it runs, so the script is copied into the folder npm installed into.
mkdir -p "$work/duckdb"
[[ -d "$work/duckdb/node_modules/@duckdb/node-api" ]] ||
  (cd "$work/duckdb" && npm install --no-save --no-audit --no-fund @duckdb/node-api@1.5.6-r.1 > /dev/null)
cp bench/lib/fvecs-to-parquet.mjs "$work/duckdb/"
timed() { # NAME COMMAND...: runs it under /usr/bin/time -v, output in $runs/NAME.log, the time's report in NAME.time
  local name=$1; shift
  /usr/bin/time -v -o "$runs/$name.time" "$@" > "$runs/$name.log" 2>&1 || { echo "$name failed: see $runs/$name.log" >&2; return 1; }
}

# --- data --------------------------------------------------------------------------------------------------------
data="$work/data-$points-seed$seed"
[[ -f "$data/gt-l2.ivecs" ]] ||
  "${ann_bench[@]}" datasets clustered --out "$data" --points "$points" --queries 1000 --dimension 128 --clusters 1000 \
    --seed "$seed" --metric l2 > /dev/null
[[ -f "$data/parts/_SUCCESS" ]] || node "$work/duckdb/fvecs-to-parquet.mjs" "$data/base.fvecs" "$data/base.parquet" "$data/parts" 8
sets=(clustered)
if [[ "${FMNIST:-1}" == 1 ]]; then
  fmnist="$work/fashion-mnist"
  [[ -f "$fmnist/gt.ivecs" ]] || "${ann_bench[@]}" datasets fashion-mnist --out "$fmnist" --max-queries 1000 > /dev/null
  [[ -f "$fmnist/parts/_SUCCESS" ]] || node "$work/duckdb/fvecs-to-parquet.mjs" "$fmnist/base.fvecs" "$fmnist/base.parquet" "$fmnist/parts" 8
  sets+=(fmnist)
fi
folder_of() { if [[ $1 == clustered ]]; then echo "$data"; else echo "$fmnist"; fi; }
uptime | tee "$runs/load-before.txt"

# --- 1 and 2: builds, paired rounds --------------------------------------------------------------------------------
build_options=(--metric l2 --m 16 --ef-construction 200 --threads 2)
ann_build_from() { # SET INPUT ROUND
  local folder input extra=()
  folder=$(folder_of "$1")
  case $2 in
    fvecs) input="$folder/base.fvecs" ;;
    parquet) input="$folder/base.parquet"; extra=(--vector-column embedding --id-column item_id) ;;
    parts) input="$folder/parts"; extra=(--vector-column embedding --id-column item_id) ;;
  esac
  echo "   ann-build $1 from $2 ($(uptime | sed 's/.*load/load/'))"
  timed "r$3-$1-annbuild-$2" "${ann_build[@]}" build --input "$input" "${extra[@]}" "${build_options[@]}" \
    --output "$work/$1-$2.snap"
}
hnswlib_build() { # ROUND
  echo "   hnswlib clustered ($(uptime | sed 's/.*load/load/'))"
  rm -f "$work/hnswlib.bin"
  timed "r$1-clustered-hnswlib" "$hnswlib_native" --base "$data/base.fvecs" --queries "$data/query.fvecs" \
    --ground-truth "$data/gt-l2.ivecs" --k 10 --m 16 --ef-construction 200 --ef 10 --build-threads 2 --runs 1 \
    --index "$work/hnswlib.bin" --json "$runs/r$1-clustered-hnswlib.json"
}
for ((round = 1; round <= rounds; round++)); do
  echo "== build round $round of $rounds"
  # hnswlib and ann-build from fvecs side by side, the first of the pair taking turns; the Parquet builds around them.
  if ((round % 2 == 1)); then
    hnswlib_build "$round"; ann_build_from clustered fvecs "$round"
    ann_build_from clustered parquet "$round"; ann_build_from clustered parts "$round"
  else
    ann_build_from clustered parts "$round"; ann_build_from clustered parquet "$round"
    ann_build_from clustered fvecs "$round"; hnswlib_build "$round"
  fi
  if [[ " ${sets[*]} " == *" fmnist "* ]]; then
    if ((round % 2 == 1)); then order=(fvecs parquet parts); else order=(parts parquet fvecs); fi
    for input in "${order[@]}"; do ann_build_from fmnist "$input" "$round"; done
  fi
done
rm -f "$work/hnswlib.bin"

# --- 3 and 4: a Release server ------------------------------------------------------------------------------------
port=$((52000 + RANDOM % 4000)); metrics_port=$((port + 1))
import="$work/import"; server_data="$work/server-data"
rm -rf "$import" "$server_data"; mkdir -p "$import"
for set in "${sets[@]}"; do
  # v1 and v2 of the refresh: yesterday's build from fvecs, today's from Parquet (the same vectors and ids).
  ln -f "$work/$set-fvecs.snap" "$import/$set-v1.snap" 2> /dev/null || cp "$work/$set-fvecs.snap" "$import/$set-v1.snap"
  ln -f "$work/$set-parquet.snap" "$import/$set-v2.snap" 2> /dev/null || cp "$work/$set-parquet.snap" "$import/$set-v2.snap"
done
"${annserver[@]}" --port "$port" --metrics-port "$metrics_port" --http-port -1 --data-dir "$server_data" --import-dir "$import" \
  > "$runs/server.log" 2>&1 &
server_pid=$!
trap 'kill "$server_pid" 2> /dev/null || true' EXIT
for ((i = 0; i < 300; i++)); do
  curl -sf "http://127.0.0.1:$metrics_port/healthz" > /dev/null 2>&1 && break
  kill -0 "$server_pid" 2> /dev/null || { echo "the server exited: see $runs/server.log" >&2; exit 1; }
  sleep 0.2
done
target="http://127.0.0.1:$port"
admin() { "${ann_bench[@]}" admin --target "$target" "$@"; }

echo "== LoadSnapshot and UploadSnapshot"
for set in "${sets[@]}"; do
  for ((round = 1; round <= rounds; round++)); do
    if ((round % 2 == 1)); then order=(file upload); else order=(upload file); fi
    for way in "${order[@]}"; do
      name="$set-$way-$round"
      if [[ $way == file ]]; then admin load-snapshot --name "$name" --path "$set-v1.snap" --json "$runs/r$round-$set-load-file.json"
      else admin upload-snapshot --name "$name" --file "$import/$set-v1.snap" --json "$runs/r$round-$set-load-upload.json"; fi
      admin drop --collection "$name" > /dev/null
    done
  done
done

switch_under_load() { # SET QUERIES GROUND_TRUTH
  local set=$1 queries=$2 truth=$3 rate capacity load_pid
  echo "== blue/green on $set ($(uptime | sed 's/.*load/load/'))"
  admin load-snapshot --name "$set-v1" --path "$set-v1.snap" > /dev/null
  admin create-alias --alias "$set" --collection "$set-v1" > /dev/null
  "${ann_bench[@]}" load --target "$target" --collection "$set" --queries "$queries" --k 10 --ef 64 --concurrency 8 \
    --duration 5s --warmup 1s --json "$runs/$set-capacity.json" > "$runs/$set-capacity.log" 2>&1
  capacity=$(/usr/bin/python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['rows'][0]['load']['throughput'])" "$runs/$set-capacity.json")
  rate=${RATE:-$(/usr/bin/python3 -c "import sys; print(max(1, round(float(sys.argv[1]) / 2)))" "$capacity")}
  echo "   closed-loop capacity $capacity searches/s (8 callers, ef 64); open loop at $rate/s"
  "${ann_bench[@]}" load --target "$target" --collection "$set" --queries "$queries" --ground-truth "$truth" --k 10 --ef 64 \
    --rate "$rate" --concurrency 256 --duration "${SWITCH_SECONDS:-60}s" --warmup 5s --server-pid "$server_pid" \
    --timeline "$runs/$set-switch-timeline.json" --json "$runs/$set-switch-load.json" > "$runs/$set-switch-load.log" 2>&1 &
  load_pid=$!
  # The steps from one process started beside the load, connected before its first step: a client process starting
  # at the switch would take CPU from the server in that very second (2 cores). Both clients start (and compile) within
  # the load's 5 s warm-up, which is not measured; the first step comes about 10 s into the measured time.
  admin blue-green --alias "$set" --from "$set-v1" --to "$set-v2" --path "$set-v2.snap" --start-after 15s --pause 3s \
    --json "$runs/$set-switch-steps.json"
  wait "$load_pid" || echo "   the load run failed: see $runs/$set-switch-load.log" >&2
  admin delete-alias --alias "$set" > /dev/null
  admin drop --collection "$set-v2" > /dev/null
  echo "{\"capacity\": $capacity, \"rate\": $rate}" > "$runs/$set-switch-rate.json"
}
switch_under_load clustered "$data/query.fvecs" "$data/gt-l2.ivecs"
[[ " ${sets[*]} " != *" fmnist "* ]] || switch_under_load fmnist "$fmnist/query.fvecs" "$fmnist/gt.ivecs"
kill "$server_pid"; wait "$server_pid" 2> /dev/null || true
uptime | tee "$runs/load-after.txt"

/usr/bin/python3 bench/lib/pipeline-report.py --runs "$runs" --points "$points" --rounds "$rounds" --command "$command_line" \
  ${NOTE:+--note "$NOTE"} --json "$out.json" --markdown "$out.md"
echo "wrote $out.md and $out.json"
