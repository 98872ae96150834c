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
  cat <<'EOF'
## Reading (written with the run of 2026-12-07; check it against the tables above when they change)

A float32 lead of 1.5× over hnswlib needs a third fewer bytes read a query at the same recall; none of these gives it
in our engine as it is.
- **α pruning** saves 2-3 % of the distances at recall 0.97-0.99 (α 1.1 to 1.3), and a larger α gives it back;
  **a new node's own 2·M list** costs 1-2 %. hnswlib's rule is as good as the graph gets here.
- **The entry**: starting level 0 from the nearest of 16 fixed nodes saves 5 % of the distances (the descent's), at the
  same recall. Small, but those 16 rows stay in cache; worth trying with the int8 codes.
- **Early abandoning** is exact and, with the components on their principal axes, reads 41 % of each row: 2.4× fewer
  bytes. But rotating the query costs d² multiply-adds (615,000 at 784-d, a 2.4 MB matrix streamed per query: about
  the whole search's time at ef 14), and the stored vectors would be rotated copies. It pays only for batches (one
  matrix product for all their queries) or with a cheaper rotation. In stored or variance order it reads 67-76 %, and
  a prefix filter on the first r principal components rejects too few distances (20 % at r 64): the walk's distances
  lie near the bound by construction.
- **Neighbour codes in the node's block** (4-bit PQ, 98 bytes a neighbour at 784-d) reach recall 0.96 in 31 expansions
  a query, against 250 rows read today. But each expansion reads its 32 neighbours' codes, visited or not, about
  3.9 KB, so the bytes a query reads fall only from about 200 KB (int8 rows) to 124 KB. At 784-d this is not the 4×
  lead. At 128-d (16-byte codes) a block is 0.6 KB, and the random reads fall 8-10× (one block an expansion instead
  of a row a neighbour) where the walk is bound by latency, not bytes (bench/results/row-floor.md: 25 ns a 136-byte
  int8 row at best, against about 59 ns a distance in our 1M int8 walk: p50 58 µs ÷ 992 distances at ef 64, catalogue.md): that is where to prototype it next.
EOF
} >"$out"
echo "wrote $out"
