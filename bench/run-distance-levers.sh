#!/usr/bin/env bash
# Makes bench/results/distance-levers.md: levers for fewer (or cheaper) distances per query at the same recall, on
# Fashion-MNIST, counted rather than timed. At Fashion-MNIST's ef 14 our float32 walk already spends about what the
# machine takes to read its rows (bench/results/row-floor.md: 216 ns a distance against a 237 ns floor for a 3,136-byte
# row), so a float32 lead over hnswlib has to come from reading fewer or smaller rows; these are the candidates.
#
# 1. The graph: the pruning rule with Vamana's α, and a new node's own level-0 list of 2·M (FAISS) instead of M: our
#    engine with bench/prototypes/pruning-alpha.patch applied in a temporary worktree, each variant built once, its
#    distances a query read at recall 0.96 to 0.995 (interpolated between efs; the counts do not depend on the machine's
#    load, the build times do).
# 2. The walk (bench/levers/walk_levers.py, numpy on hnswlib's own graph of the same data): early abandoning of a
#    distance once its partial sum passes the pool's bound (exact), in three component orders, and a prefix filter on
#    principal components; the entry (hnswlib's descent against a flat graph's fixed entries); neighbours' 4-bit PQ
#    codes in each node's block (SymphonyQG / NGT-QG), which turn row reads into block reads.
#
# usage: [QUERIES=300] [OUT=bench/results/distance-levers.md] bench/run-distance-levers.sh [WORK_DIR]
#   WORK_DIR (default /tmp/fmnist): what bench/run-fashion-mnist.sh leaves there (base.fvecs, query.fvecs, gt.ivecs,
#   hnswlib.bin); that script is run first when they are missing. About 25 minutes on 2 cores.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:-/tmp/fmnist}"
queries="${QUERIES:-300}"
out="${OUT:-$repo/bench/results/distance-levers.md}"
[[ -f "$work/hnswlib.bin" && -f "$work/gt.ivecs" ]] || ROUNDS=1 "$repo/bench/run-fashion-mnist.sh" "$work"

prototype="$(mktemp -d)"
trap 'git -C "$repo" worktree remove --force "$prototype/src" >/dev/null 2>&1 || true; rm -rf "$prototype"' EXIT
git -C "$repo" worktree add --detach "$prototype/src" HEAD >/dev/null
git -C "$prototype/src" apply "$repo/bench/prototypes/pruning-alpha.patch"
dotnet build -c Release "$prototype/src/bench/AnnServer.Harness" --artifacts-path "$prototype/build" -v q -nologo >/dev/null
ann_bench=(dotnet "$prototype/build/bin/AnnServer.Harness/release/ann-bench.dll")
files=(--base "$work/base.fvecs" --queries "$work/query.fvecs" --ground-truth "$work/gt.ivecs")
variants=("1 0" "1.1 0" "1.2 0" "1.3 0" "1.44 0" "1 1")
for variant in "${variants[@]}"; do
  read -r alpha own <<<"$variant"
  ANN_PRUNE_ALPHA=$alpha ANN_OWN_FULL0=$own "${ann_bench[@]}" recall "${files[@]}" --k 10 --m 16 --ef-construction 200 \
    --build-threads 2 --ef 10,11,12,13,14,16,18,20,24,28,32,40,48 --max-queries 2000 --warmup 200 \
    --json "$prototype/alpha-$alpha-own-$own.json" >/dev/null
done

{
  echo "# Fewer distances a query: the levers counted"
  echo
  echo "Made by \`bench/run-distance-levers.sh $work\` ($(date -u +%Y-%m-%d\ %H:%M) UTC, commit $(git -C "$repo" rev-parse --short HEAD);"
  echo "load average before the write-up: $(cut -d' ' -f1-3 /proc/loadavg)). Fashion-MNIST, k 10, M 16, efConstruction 200."
  echo "Counts, not timings: what each lever changes is how many rows (or bytes) a query reads."
  echo
  echo "## The graph: pruning with α, and a new node's own level-0 list"
  echo
  echo "Our engine, each variant built once (2 threads) and searched single-threaded on the first 2,000 queries."
  echo "α multiplies the distance to a kept neighbour in the pruning rule (on squared distances: α 1.21 is Vamana's 1.1);"
  echo "**own 2·M**: a new node keeps up to 2·M links of its own on level 0, not M. Cells: distances a query at that recall"
  echo "(interpolated between efs; '-' below the recall of ef 10, the smallest ef for k 10)."
  echo
  /usr/bin/python3 - "$prototype" "${variants[@]}" <<'EOF'
import json, sys
import numpy as np
folder, variants = sys.argv[1], sys.argv[2:]
targets = (0.95, 0.96, 0.97, 0.98, 0.99, 0.995)
print("| α | own list | build s | recall at ef 10 | " + " | ".join(f"at {t}" for t in targets) + " |")
print("|---:|---|---:|---:|" + "---:|" * len(targets))
for variant in variants:
    alpha, own = variant.split()
    row = json.load(open(f"{folder}/alpha-{alpha}-own-{own}.json"))["rows"][0]
    recall = np.array([p["recall"] for p in row["points"]])
    distances = np.array([p["distance_computations"] for p in row["points"]])
    cells = [f"{np.interp(t, recall, distances):.0f}" if recall[0] <= t <= recall[-1] else "-" for t in targets]
    print(f"| {alpha} | {'2·M' if own == '1' else 'M'} | {row['build_seconds']:.1f} | {recall[0]:.4f} | " + " | ".join(cells) + " |")
EOF
  echo
  echo "## The walk, on hnswlib's graph ($queries queries)"
  echo
  /usr/bin/python3 "$repo/bench/levers/walk_levers.py" "$work" "$queries"
} >"$out"
echo "wrote $out"
