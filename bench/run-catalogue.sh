#!/usr/bin/env bash
# Makes bench/results/catalogue.{md,png,json} (L2) and catalogue-cosine.{md,png,json}: AnnServer float32 and int8
# against hnswlib compiled for this CPU, at catalogue scale: 1,000,000 × 128 generated vectors around 1,000 Gaussian
# clusters (`ann-bench datasets clustered`, fixed seed), 10,000 queries, exact ground truth; searches single-threaded.
# Each system builds once per metric (2 threads, normal priority), then ROUNDS paired rounds load the saved indexes
# and measure every ef, taking turns at going first, as bench/run-fashion-mnist.sh does (the why is written there).
#
# The rounds measure our float32 index twice, in its build order and renumbered for locality (REORDER, HnswIndex.Reordered,
# applied at load: `ann-bench recall --reorder`), and the int8 index renumbered: rows annserver, annserver-bfs,
# annserver-int8-bfs.
#
# usage: [ROUNDS=1] [EFS=...] [OUT=...] [NOTE="..."] [SEED=21] [METRICS="l2 cosine"] [FIFO=1] [REORDER=bfs] [REUSE=1]
#        bench/run-catalogue.sh [--points N] [WORK_DIR]
#   --points N: base vectors (default 1,000,000; 100,000 for a quick look, which writes to WORK_DIR unless OUT is set).
#   WORK_DIR (default /tmp/catalogue): data (data-N-seedS/, generated once per size and seed and kept: the ground
#   truth of 1M points takes minutes), the build, the saved indexes, every round's JSON.
#   METRICS: the metrics to run, of l2 and cosine (both by default; each builds three indexes).
#   REORDER: the node ordering of the reordered rows: bfs (default) or rcm.
#   REUSE=1: keep the indexes and build results of an earlier run in WORK_DIR instead of building again (to rerun
#   the rounds only; the page then has no build figures).
#   FIFO=1: rounds under SCHED_FIFO when root. Off by default here: a 1M round holds a core for minutes, and this
#   machine is shared.
# Needs: apt-get install -y libhnswlib-dev; the .NET SDK; g++. Run it under `nice` on a shared machine.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
points=1000000
if [[ "${1:-}" == --points ]]; then points="$2"; shift 2; fi
[[ "$points" =~ ^[1-9][0-9]*$ ]] || { echo "--points must be a positive whole number, got '$points'" >&2; exit 1; }
work="${1:-/tmp/catalogue}"
rounds="${ROUNDS:-1}"
seed="${SEED:-21}"
efs="${EFS:-10,16,24,32,48,64,96,128,192,256,384}"
[[ "$rounds" =~ ^[0-9]+$ ]] || { echo "ROUNDS must be a whole number, got '$rounds'" >&2; exit 1; }
if [[ -n "${OUT:-}" ]]; then out="$OUT"
elif ((points == 1000000)); then out="$repo/bench/results/catalogue"
else out="$work/catalogue-$points"; fi
mkdir -p "$work"
cd "$repo"

source bench/lib/paired-rounds.sh
build_tools "$work"
[[ "${FIFO:-0}" == 1 ]] || fifo=()
data="$work/data-$points-seed$seed"
[[ -f "$data/gt-l2.ivecs" && -f "$data/gt-cosine.ivecs" ]] ||
  nice "${ann_bench[@]}" datasets clustered --out "$data" --points "$points" --queries 10000 --dimension 128 --clusters 1000 \
    --seed "$seed" --metric l2 cosine

uptime | tee "$work/load-before.txt"
for metric in ${METRICS:-l2 cosine}; do
  [[ $metric == l2 || $metric == cosine ]] || { echo "METRICS: l2 or cosine, got '$metric'" >&2; exit 1; }
  name="clustered-$points-$metric"
  files=(--base "$data/base.fvecs" --queries "$data/query.fvecs" --ground-truth "$data/gt-$metric.ivecs")
  common=(--k 10 --m 16 --ef-construction 200 --ef "$efs" --build-threads 2 --runs 3 --dataset "$name")
  ours_indexes=("$work/$name-annserver-float32.snap" "$work/$name-annserver-int8.snap")
  hnswlib_index="$work/$name-hnswlib.bin"
  hnswlib_args=(--metric "$metric"); round_files=()
  rm -f "$work/$name"-round-*.json
  if [[ "${REUSE:-0}" != 1 ]]; then
    # Every run builds afresh (a saved index would be loaded and its build time lost) and merges only its own rounds.
    rm -f "${ours_indexes[@]}" "$hnswlib_index"
    "${ann_bench[@]}" recall "${files[@]}" "${common[@]}" --threads 1 --metric "$metric" --quantization none int8 \
      --save-index "${ours_indexes[@]}" --json "$work/$name-ours-build.json"
    "$hnswlib_native" "${files[@]}" "${common[@]}" "${hnswlib_args[@]}" --index "$hnswlib_index" --json "$work/$name-hnswlib-build.json"
  fi
  # The rounds: float32 as built and reordered, int8 reordered (each reordered at load, in the round's process).
  ours_indexes=("${ours_indexes[0]}" "${ours_indexes[0]}" "${ours_indexes[1]}")
  ours_args=(--reorder none "${REORDER:-bfs}" "${REORDER:-bfs}")
  paired_rounds "$rounds" "$work/$name"
  suffix=""; [[ $metric == l2 ]] || suffix="-$metric"
  # With REUSE=1 the build runs' own passes (measured at another time, under another load) are left out of the page.
  build_files=("$work/$name-ours-build.json" "$work/$name-hnswlib-build.json")
  [[ "${REUSE:-0}" != 1 ]] || build_files=()
  "${ann_bench[@]}" merge "${build_files[@]}" "${round_files[@]}" \
    --json "$out$suffix.json" --plot "$out$suffix.png" --markdown "$out$suffix.md" ${NOTE:+--note "$NOTE"}
done
uptime | tee "$work/load-after.txt"
