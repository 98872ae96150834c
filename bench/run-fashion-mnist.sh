#!/usr/bin/env bash
# Makes bench/results/fashion-mnist.{md,png,json}: AnnServer float32 and int8, USearch, hnswlib compiled for this CPU,
# Debian's hnswlib and FAISS, on the same files and parameters; searches single-threaded. AnnServer and hnswlib are
# measured in paired rounds.
#
# The rounds measure our float32 index twice, as built and renumbered for locality (REORDER, default bfs:
# HnswIndex.Reordered, applied at load by `ann-bench recall --reorder`), and the int8 index renumbered: rows annserver,
# annserver-bfs, annserver-int8-bfs.
#
# usage: [ROUNDS=5] [EFS=10,12,...] [OUT=bench/results/fashion-mnist] [NOTE="..."] [REORDER=bfs] [REUSE=1] bench/run-fashion-mnist.sh [WORK_DIR]
#   WORK_DIR (default /tmp/fmnist) holds the data files, the build, the saved indexes and every round's JSON; run from
#   anywhere, as root for SCHED_FIFO. ROUNDS: paired rounds after the builds. EFS: the ef list (a short one for a trial,
#   e.g. EFS=10,14,32). OUT: where the merged .md/.png/.json go (elsewhere for a trial, so bench/results stays as it is).
#   REUSE=1: load the indexes an earlier run saved in WORK_DIR instead of building again, and run the rounds only: the
#   page then has no build figures and no peers (USearch, Debian's Python builds), which are measured in the builds.
# Needs: apt-get install -y dataset-fashion-mnist libhnswlib-dev python3-hnswlib python3-faiss; the .NET SDK; g++.
#
# Why rounds: on a shared VM the same binary's single-thread QPS moves by ±25 % between processes minutes apart, so one
# run of each system, one after the other, cannot show a 1.2x ratio. The script builds each index once and saves it,
# then runs ROUNDS rounds in which AnnServer (float32 and int8, alternating at each ef within one process) and hnswlib
# each load their saved index and measure every ef, taking turns at going first. `ann-bench merge` keeps, at each ef,
# the fastest pass of all rounds of a system (the build runs count as rounds too), and build time and memory from the
# build run. USearch and Debian's Python peers are measured once, in the calls that build them.
#
# Why builds are not under SCHED_FIFO: FIFO starves .NET's background JIT thread (two FIFO build threads on two cores),
# which made AnnServer's build read 33 s instead of 11.5 s, and a FIFO build on both cores shuts every other process
# out for its duration. So every call that builds (ours with USearch, hnswlib's first call, the Python peers) runs at
# normal priority. Run as root, the rounds, which only load and search, run under SCHED_FIFO (chrt -f 50): no ordinary
# process can then preempt the measuring thread. Other processes still share caches and memory bandwidth; read the
# load average the script records.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:-/tmp/fmnist}"
rounds="${ROUNDS:-5}"
efs="${EFS:-10,12,14,16,20,24,32,40,64,80,160,320}"
out="${OUT:-$repo/bench/results/fashion-mnist}"
common=(--k 10 --m 16 --ef-construction 200 --ef "$efs" --build-threads 2 --runs 3 --dataset fashion-mnist)
[[ "$rounds" =~ ^[0-9]+$ ]] || { echo "ROUNDS must be a whole number, got '$rounds'" >&2; exit 1; }
mkdir -p "$work"
cd "$repo"

source bench/lib/paired-rounds.sh
build_tools "$work"
[[ -f "$work/base.fvecs" ]] || "${ann_bench[@]}" datasets fashion-mnist --out "$work"
files=(--base "$work/base.fvecs" --queries "$work/query.fvecs" --ground-truth "$work/gt.ivecs")
ours_indexes=("$work/annserver-float32.snap" "$work/annserver-int8.snap")
hnswlib_index="$work/hnswlib.bin"
# Every run leaves no earlier round to be merged, and builds afresh unless REUSE=1 (a saved index would be loaded, and
# its build time lost).
rm -f "$work"/round-*.json "$work"/fashion-mnist-round-*.json
reuse="${REUSE:-0}"
[[ $reuse != 1 ]] || [[ -f "${ours_indexes[0]}" && -f "${ours_indexes[1]}" && -f "$hnswlib_index" ]] ||
  { echo "REUSE=1 needs the indexes of an earlier run in $work" >&2; exit 1; }

uptime | tee "$work/load-before.txt"
if [[ $reuse != 1 ]]; then
  rm -f "${ours_indexes[@]}" "$hnswlib_index"
  "${ann_bench[@]}" recall "${files[@]}" "${common[@]}" --threads 1 --quantization none int8 --peer usearch \
    --save-index "${ours_indexes[@]}" --json "$work/ours-build.json"
  "$hnswlib_native" "${files[@]}" "${common[@]}" --index "$hnswlib_index" --json "$work/hnswlib-build.json"
fi

ours_indexes=("${ours_indexes[0]}" "${ours_indexes[0]}" "${ours_indexes[1]}")
ours_args=(--reorder none "${REORDER:-bfs}" "${REORDER:-bfs}"); hnswlib_args=(); round_files=()
paired_rounds "$rounds" "$work/fashion-mnist"

other_files=()
if [[ $reuse != 1 ]]; then
  /usr/bin/python3 bench/peers/hnswlib.py "${files[@]}" "${common[@]}" --json "$work/peers.json"
  other_files=("$work/ours-build.json" "$work/hnswlib-build.json" "$work/peers.json")
fi
uptime | tee "$work/load-after.txt"

"${ann_bench[@]}" merge "${other_files[@]}" "${round_files[@]}" \
  --json "$out.json" --plot "$out.png" --markdown "$out.md" ${NOTE:+--note "$NOTE"}
