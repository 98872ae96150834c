#!/usr/bin/env bash
# Makes bench/results/compact-codes.{md,json,png} and compact-codes-fashion-mnist.{md,json,png}: the 4-bit codes (int4)
# against float32, int8 and hnswlib compiled for this CPU, on 1,000,000 × 128 clustered vectors (L2) and on
# Fashion-MNIST (60,000 × 784, L2); recall@10 against single-thread QPS, and bytes per point: what the walk reads per
# visited point (the codes, or the float32 vector), the links (alike in every mode), and the resident growth of a load.
#
# Our three modes come from ONE float32 snapshot per dataset, loaded three times: float32 as it is, int8 and int4 with
# their codes computed at load (ann-bench recall --quantization none int8 int4; every mode links on float32 distances,
# so these are the graphs a build in that mode makes), all with the vectors left in the snapshot's file mapping
# (--map-vectors, as the server's --map-snapshots): a quantized search reads them only to re-rank its ef candidates.
# Rounds are paired with hnswlib as in bench/run-fashion-mnist.sh (bench/lib/paired-rounds.sh: why, and SCHED_FIFO
# when root); `ann-bench merge` keeps the fastest pass per ef. Last, bench/compact_codes_flat_scan.py: how large a
# re-rank pool a 1-bit code (RaBitQ) needs against int4 in a flat scan, their best case.
#
# usage: [ROUNDS=3] [EFS_1M=...] [EFS_FMNIST=...] bench/run-compact-codes.sh [CATALOGUE_DIR] [FMNIST_DIR]
#   CATALOGUE_DIR (default /tmp/catalogue) must hold data-1000000-seed21/{base,query}.fvecs and gt-l2.ivecs,
#   clustered-1000000-l2-annserver-float32.snap and clustered-1000000-l2-hnswlib.bin (METRICS=l2 bench/run-catalogue.sh
#   makes them); FMNIST_DIR (default /tmp/compact-codes-fmnist) gets Fashion-MNIST's files, and its two indexes are
#   built there once (about a minute each on 2 cores) and reused by later runs.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
catalogue="${1:-/tmp/catalogue}"
fmnist="${2:-/tmp/compact-codes-fmnist}"
rounds="${ROUNDS:-3}"
efs_1m="${EFS_1M:-16,24,32,48,64,96,128,192,256}"
efs_fmnist="${EFS_FMNIST:-10,12,14,16,20,24,32,40,64,80,160}"
out="$repo/bench/results/compact-codes"
data="$catalogue/data-1000000-seed21"
for f in "$data/base.fvecs" "$data/query.fvecs" "$data/gt-l2.ivecs" \
         "$catalogue/clustered-1000000-l2-annserver-float32.snap" "$catalogue/clustered-1000000-l2-hnswlib.bin"; do
  [[ -f $f ]] || { echo "missing $f: run METRICS=l2 bench/run-catalogue.sh $catalogue first" >&2; exit 1; }
done
mkdir -p "$fmnist"
cd "$repo"
source bench/lib/paired-rounds.sh
build_tools "$fmnist"

modes=(--quantization none int8 int4 --map-vectors)

# Fashion-MNIST: the data, then one float32 snapshot and one hnswlib index, built once.
[[ -f "$fmnist/base.fvecs" ]] || "${ann_bench[@]}" datasets fashion-mnist --out "$fmnist"
files=(--base "$fmnist/base.fvecs" --queries "$fmnist/query.fvecs" --ground-truth "$fmnist/gt.ivecs")
common=(--k 10 --m 16 --ef-construction 200 --ef "$efs_fmnist" --build-threads 2 --runs 3 --dataset fashion-mnist)
ours_indexes=("$fmnist/annserver-float32.snap")
hnswlib_index="$fmnist/hnswlib.bin"
[[ -f ${ours_indexes[0]} ]] || "${ann_bench[@]}" recall "${files[@]}" "${common[@]}" --max-queries 100 --warmup 0 \
  --quantization none --save-index "${ours_indexes[0]}" --json "$fmnist/ours-build.json"
[[ -f $hnswlib_index ]] || "$hnswlib_native" "${files[@]}" "${common[@]}" --index "$hnswlib_index" --json "$fmnist/hnswlib-build.json"
rm -f "$fmnist"/compact-round-*.json
uptime | tee "$fmnist/load-before.txt"
ours_args=("${modes[@]}"); hnswlib_args=(); round_files=()
paired_rounds "$rounds" "$fmnist/compact"
"${ann_bench[@]}" merge "${round_files[@]}" --json "$out-fashion-mnist.json" --plot "$out-fashion-mnist.png" \
  --markdown "$out-fashion-mnist.md" --note "$(uptime)"

# 1,000,000 × 128: the catalogue benchmark's saved indexes.
files=(--base "$data/base.fvecs" --queries "$data/query.fvecs" --ground-truth "$data/gt-l2.ivecs")
common=(--k 10 --m 16 --ef-construction 200 --ef "$efs_1m" --build-threads 2 --runs 3 --dataset clustered-1000000-l2)
ours_indexes=("$catalogue/clustered-1000000-l2-annserver-float32.snap")
hnswlib_index="$catalogue/clustered-1000000-l2-hnswlib.bin"
rm -f "$catalogue"/compact-round-*.json
ours_args=("${modes[@]}"); hnswlib_args=(--metric l2); round_files=()
paired_rounds "$rounds" "$catalogue/compact"
uptime | tee "$fmnist/load-after.txt"
"${ann_bench[@]}" merge "${round_files[@]}" --json "$out.json" --plot "$out.png" --markdown "$out-1m.md" --note "$(uptime)"

# The best case of a 1-bit code against int4: a flat scan (no graph) with an exact re-rank of the top N.
nice /usr/bin/python3 bench/compact_codes_flat_scan.py "$data/base.fvecs" "$data/query.fvecs" 1000000 200 >"$catalogue/compact-flat-scan.md"

/usr/bin/python3 bench/compact_codes_page.py "$out.json" "$out-fashion-mnist.json" --flat-scan "$catalogue/compact-flat-scan.md" \
  --load-before "$(cat "$fmnist/load-before.txt")" --load-after "$(cat "$fmnist/load-after.txt")" \
  --command "ROUNDS=$rounds bench/run-compact-codes.sh $catalogue $fmnist" >"$out.md"
echo "wrote $out.md"
