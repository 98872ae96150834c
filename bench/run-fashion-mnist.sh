#!/usr/bin/env bash
# Makes bench/results/fashion-mnist.{md,png,json}: AnnServer float32 and int8, USearch, hnswlib compiled for this CPU,
# Debian's hnswlib and FAISS, on the same files and parameters, one after the other; searches single-threaded.
#
# usage: bench/run-fashion-mnist.sh [WORK_DIR]      (default /tmp/fmnist; run from anywhere, as root for SCHED_FIFO)
# Needs: apt-get install -y dataset-fashion-mnist libhnswlib-dev python3-hnswlib python3-faiss; the .NET SDK; g++.
#
# Run as root, every measurement runs under SCHED_FIFO (chrt -f 50): on a shared machine no ordinary process can then
# preempt the measuring thread, which otherwise moved single-thread QPS by up to 2x between identical runs. Other
# processes still share caches and memory bandwidth; read the load average the page records.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:-/tmp/fmnist}"
efs=10,12,14,16,20,24,32,40,64,80,160,320
common=(--k 10 --m 16 --ef-construction 200 --ef "$efs" --build-threads 2 --runs 3 --dataset fashion-mnist)
fifo=(); [[ $(id -u) == 0 ]] && fifo=(chrt -f 50)
mkdir -p "$work"
cd "$repo"

dotnet build -c Release bench/AnnServer.Harness --artifacts-path "$work/build" -v q -nologo
ann_bench=(dotnet "$work/build/bin/AnnServer.Harness/release/ann-bench.dll")
[[ -f "$work/base.fvecs" ]] || "${ann_bench[@]}" datasets fashion-mnist --out "$work"
[[ -x "$work/hnswlib-native" ]] || g++ -O3 -march=native -std=c++17 -pthread -o "$work/hnswlib-native" bench/peers/hnswlib_native.cpp
files=(--base "$work/base.fvecs" --queries "$work/query.fvecs" --ground-truth "$work/gt.ivecs")

uptime | tee "$work/load-before.txt"
"${fifo[@]}" "$work/hnswlib-native" "${files[@]}" "${common[@]}" --json "$work/hnswlib-native.json"
"${fifo[@]}" "${ann_bench[@]}" recall "${files[@]}" "${common[@]}" --threads 1 --quantization none int8 --peer usearch \
  --json "$work/ours.json"
"${fifo[@]}" /usr/bin/python3 bench/peers/hnswlib.py "${files[@]}" "${common[@]}" --json "$work/peers.json"
uptime | tee "$work/load-after.txt"

"${ann_bench[@]}" merge "$work/ours.json" "$work/hnswlib-native.json" "$work/peers.json" \
  --json bench/results/fashion-mnist.json --plot bench/results/fashion-mnist.png --markdown bench/results/fashion-mnist.md \
  ${NOTE:+--note "$NOTE"}
