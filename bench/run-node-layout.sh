#!/usr/bin/env bash
# Makes bench/results/node-layout.md: issue 21's first lever for one visit, the node layout, measured as a prototype
# before any product change. hnswlib keeps a node's level-0 links and its vector in one block (data_level0_memory_);
# we keep them in separate stores (src/AnnServer.Core/Hnsw/GraphStorage.cs). The prototype
# (bench/prototypes/node-layout-block.patch, applied to a copy of BASE, never to the product) copies the links and the
# walked rows (the float32 vectors, or the int8 codes of a quantized index: its float32 vectors stay apart for the
# re-rank) into one store at load, in one of three layouts chosen by ANN_PROTO_BLOCK:
#   1  [links | zeros to 64 | walked row]     2  [walked row | zeros to 64 | links]     3  [links | walked row], packed
# and answers every search exactly as BASE does (same graph, same recall); only the addresses differ.
#
# Each round runs `ann-bench recall` once for BASE and once per layout, in an order rotated from round to round, on
# the catalogue's 1,000,000 × 128 L2 snapshots (float32 and int8, both renumbered with --reorder bfs as
# bench/run-catalogue.sh measures them) and on Fashion-MNIST (a float32 snapshot, searched as float32 and as int8
# codes computed at load). The page gives, per ef, the median over rounds of each round's ratio to BASE: p50 latency
# (BASE ÷ layout: above 1 the layout is faster) and QPS (layout ÷ BASE). On a shared machine p50 is the figure to
# read: QPS is a mean, which a few preempted queries move by tens of per cent.
#
# usage: [ROUNDS=5] [BASE=main] [LAYOUTS="1 2 3"] [MAX_QUERIES=2000] [EFS_1M=48,64,96] [EFS_FMNIST=10,16,24]
#        [CATALOGUE=/tmp/catalogue] bench/run-node-layout.sh [WORK_DIR]
#   CATALOGUE holds clustered-1000000-l2-annserver-{float32,int8}.snap and data-1000000-seed21/ (made by
#   `METRICS=l2 bench/run-catalogue.sh`); WORK_DIR (default /tmp/node-layout) the two builds, Fashion-MNIST's files
#   and snapshot (made once), every round's JSON.
# Needs: the .NET SDK, git, /usr/bin/python3, Debian's dataset-fashion-mnist. Run it under `nice` on a shared machine.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:-/tmp/node-layout}"
rounds="${ROUNDS:-5}"
base_ref="${BASE:-main}"
layouts=(${LAYOUTS:-1 2 3})
catalogue="${CATALOGUE:-/tmp/catalogue}"
max_queries="${MAX_QUERIES:-2000}"
out="$repo/bench/results/node-layout"
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "ROUNDS must be a positive whole number, got '$rounds'" >&2; exit 1; }
data_1m="$catalogue/data-1000000-seed21"
snaps_1m=("$catalogue/clustered-1000000-l2-annserver-float32.snap" "$catalogue/clustered-1000000-l2-annserver-int8.snap")
for f in "${snaps_1m[@]}" "$data_1m/base.fvecs" "$data_1m/query.fvecs" "$data_1m/gt-l2.ivecs"; do
  [[ -f $f ]] || { echo "missing $f: run METRICS=l2 bench/run-catalogue.sh $catalogue first" >&2; exit 1; }
done
mkdir -p "$work"

# The two builds, from BASE's tree as committed: the prototype is the same tree with the patch applied.
base_commit=$(git -C "$repo" rev-parse "$base_ref")
for side in base prototype; do
  rm -rf "$work/$side-src"
  mkdir -p "$work/$side-src"
  git -C "$repo" archive "$base_commit" | tar -x -C "$work/$side-src"
done
patch -s -p1 -d "$work/prototype-src" <"$repo/bench/prototypes/node-layout-block.patch"
for side in base prototype; do
  nice dotnet build -c Release "$work/$side-src/bench/AnnServer.Harness" --artifacts-path "$work/$side-build" -v q -nologo >/dev/null
done
ann_bench() { dotnet "$work/$1-build/bin/AnnServer.Harness/release/ann-bench.dll" "${@:2}"; }

fmnist="$work/fmnist"
[[ -f "$fmnist/gt.ivecs" ]] || ann_bench base datasets fashion-mnist --out "$fmnist" --max-queries "$max_queries"
[[ -f "$fmnist/annserver-float32.snap" ]] ||
  ann_bench base recall --base "$fmnist/base.fvecs" --queries "$fmnist/query.fvecs" --ground-truth "$fmnist/gt.ivecs" \
    --k 10 --m 16 --ef-construction 200 --ef 16 --build-threads 2 --runs 1 --dataset fashion-mnist --threads 1 \
    --save-index "$fmnist/annserver-float32.snap" >/dev/null

# measure SIDE LAYOUT DATASET JSON: one process, every system of the dataset at every ef.
measure() {
  local side="$1" layout="$2" dataset="$3" json="$4"
  local args
  if [[ $dataset == catalogue ]]; then
    args=(--index "${snaps_1m[@]}" --reorder bfs bfs --base "$data_1m/base.fvecs" --queries "$data_1m/query.fvecs"
      --ground-truth "$data_1m/gt-l2.ivecs" --ef "${EFS_1M:-48,64,96}" --dataset clustered-1000000-l2)
  else
    args=(--index "$fmnist/annserver-float32.snap" --quantization none int8 --reorder bfs bfs --base "$fmnist/base.fvecs"
      --queries "$fmnist/query.fvecs" --ground-truth "$fmnist/gt.ivecs" --ef "${EFS_FMNIST:-10,16,24}" --dataset fashion-mnist)
  fi
  ANN_PROTO_BLOCK="$layout" ann_bench "$side" recall "${args[@]}" --k 10 --m 16 --ef-construction 200 --runs 3 --threads 1 \
    --max-queries "$max_queries" --json "$json" >/dev/null
}

rm -f "$work"/round-*.json
sides=(base "${layouts[@]}")
uptime | tee "$work/load-before.txt"
for ((round = 1; round <= rounds; round++)); do
  for dataset in catalogue fashion-mnist; do
    for ((i = 0; i < ${#sides[@]}; i++)); do
      side="${sides[(i + round - 1) % ${#sides[@]}]}"
      if [[ $side == base ]]; then measure base "" "$dataset" "$work/round-$round-$dataset-base.json"
      else measure prototype "$side" "$dataset" "$work/round-$round-$dataset-layout$side.json"; fi
    done
  done
  echo "round $round of $rounds done"
done
uptime | tee "$work/load-after.txt"

/usr/bin/python3 - "$work" "$rounds" "$base_commit" "${layouts[*]}" "$out.md" "$out.json" <<'PY'
import json, statistics, sys
work, rounds, base_commit, layouts, page, summary = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4].split(), sys.argv[5], sys.argv[6]

def points(path):
    doc = json.load(open(path))
    return doc, {(row["params"]["quantization"], p["ef"]): p for row in doc["rows"] for p in row["points"]}

lines = ["# Node layout for one visit: links and walked rows in one block (prototype)", "",
         "Issue 21, item 2, first lever. Made by `bench/run-node-layout.sh` (its header says what each layout is and how the",
         f"rounds run), {rounds} rounds, BASE = `{base_commit[:12]}`, the prototype = BASE + `bench/prototypes/node-layout-block.patch`.",
         "Single-threaded search, k 10, the first queries of each set (`--max-queries`), `--reorder bfs`. Each cell: the median",
         "over rounds of that round's ratio to BASE, with its range; **p50**: BASE's p50 ÷ the layout's (above 1: the layout",
         "is faster), **QPS**: the layout's ÷ BASE's. Recall is the same in every column (same graph, same order of visits).",
         "Layouts (row = the walked row: the float32 vector, or the int8 codes): **1** links, zeros to 64, row; **2** row, zeros",
         "to 64, links; **3** links then row, packed (hnswlib's block). BASE: three stores (vectors, codes, links).", ""]
machine = None
table = {}
for dataset in ("catalogue", "fashion-mnist"):
    base = [points(f"{work}/round-{r}-{dataset}-base.json") for r in range(1, rounds + 1)]
    machine = base[0][0]["machine"]
    header = "| mode | ef | recall | BASE p50 µs | BASE QPS | " + " | ".join(f"layout {l} p50 | layout {l} QPS" for l in layouts) + " |"
    lines += [f"## {'1,000,000 × 128, L2 (clustered)' if dataset == 'catalogue' else 'Fashion-MNIST, L2 (60,000 × 784)'}", "", header,
              "|" + "---|" * (5 + 2 * len(layouts))]
    for key in sorted(base[0][1], key=lambda k: (k[0] != "none", k[1])):
        row = [key[0] if key[0] != "none" else "float32", str(key[1]), f"{base[0][1][key]['recall']:.4f}",
               f"{statistics.median(b[1][key]['p50_us'] for b in base):.1f}", f"{statistics.median(b[1][key]['qps'] for b in base):.0f}"]
        for l in layouts:
            runs = [points(f"{work}/round-{r}-{dataset}-layout{l}.json")[1][key] for r in range(1, rounds + 1)]
            p50 = [b[1][key]["p50_us"] / x["p50_us"] for b, x in zip(base, runs)]
            qps = [x["qps"] / b[1][key]["qps"] for b, x in zip(base, runs)]
            m = statistics.median(p50)
            table[f"{dataset}/{row[0]}/ef{key[1]}/layout{l}"] = {"p50_ratio": m, "qps_ratio": statistics.median(qps), "p50_ratios": p50, "qps_ratios": qps}
            row += [f"{m:.3f} ({min(p50):.2f}–{max(p50):.2f})", f"{statistics.median(qps):.3f} ({min(qps):.2f}–{max(qps):.2f})"]
        lines.append("| " + " | ".join(row) + " |")
    lines.append("")
gain = max(statistics.median(v["p50_ratio"] for k, v in table.items() if k.startswith(f"catalogue/{mode}/") and k.endswith(f"layout{l}"))
           for mode in ("float32", "int8") for l in layouts)
lines += ["## Verdict", "",
          f"The best layout's median p50 ratio over the 1M efs, float32 or int8: **{gain:.3f}**; the bar for making it the product's",
          f"layout was 1.05 (5 % at the same recall). {'Met.' if gain >= 1.05 else 'Not met: the product keeps its three stores.'}", "",
          f"Machine: {machine['cpu']}, {machine['cores']} cores, {machine['runtime']}, {machine['simd']}. Load before: "
          f"`{open(work + '/load-before.txt').read().strip()}`; after: `{open(work + '/load-after.txt').read().strip()}`.", ""]
open(page, "w").write("\n".join(lines))
json.dump({"base": base_commit, "rounds": rounds, "cells": table}, open(summary, "w"), indent=1)
print("\n".join(lines))
PY
