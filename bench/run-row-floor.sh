#!/usr/bin/env bash
# Makes bench/results/row-floor.md: the machine's floor for the memory reads of a graph search, per row kind of the
# benchmark datasets: how long one thread takes to read whole rows picked at random from a table of the dataset's
# size (bench/floor/row_reads.c), on 2 MiB pages (as AnnServer's stores) and on 4 KiB pages (as hnswlib's malloc'd
# block). Compare the pages' "µs per query / distances per query" with it: a search at the floor is bound by memory,
# not by its code, and goes faster only by reading fewer or smaller rows (or rows that are in cache anyway).
# usage: [OUT=bench/results/row-floor.md] bench/run-row-floor.sh      (root runs each under SCHED_FIFO)
# Needs gcc and an AVX-512 CPU.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
out="${OUT:-$repo/bench/results/row-floor.md}"
binary="$(mktemp -d)/row-reads"
gcc -O3 -march=native -o "$binary" "$repo/bench/floor/row_reads.c"
fifo=(); [[ $EUID -eq 0 ]] && fifo=(chrt -f 50)
# dataset, rows, what is read, bytes a row (Int8Codes.RowBytes / Int4Codes.RowBytes at that dimension; link rows
# 4·(1 + 2M) at M 16)
cases=(
  "Fashion-MNIST|60000|float32 vector (784-d)|3136"
  "Fashion-MNIST|60000|int8 code row|808"
  "Fashion-MNIST|60000|int4 code row|404"
  "1,000,000 × 128|1000000|float32 vector|512"
  "1,000,000 × 128|1000000|int8 code row|136"
  "1,000,000 × 128|1000000|int4 code row|76"
  "1,000,000 × 128|1000000|level-0 link row (M 16)|132"
)
{
  echo "# The machine's floor for a search's row reads"
  echo
  echo "Made by \`bench/run-row-floor.sh\` ($(date -u +%Y-%m-%d\ %H:%M) UTC; load average before: $(cut -d' ' -f1-3 /proc/loadavg))."
  echo "One thread reads whole rows picked at random from a table of the dataset's rows, each row asked for ahead by software"
  echo "prefetch (the best of 1, 2, 4, 8 or 16 rows ahead, first line or every line); every byte is loaded. The best of 3 passes."
  echo
  echo "| dataset | row | bytes | pages | ns per row | GB/s | best prefetch |"
  echo "|---|---|---:|---|---:|---:|---|"
  for case in "${cases[@]}"; do
    IFS='|' read -r dataset rows what bytes <<<"$case"
    for huge in 1 0; do
      IFS=$'\t' read -r _ _ pages ns gbs ahead _ < <("${fifo[@]}" "$binary" "$rows" "$bytes" "$huge")
      echo "| $dataset | $what | $bytes | $pages | $ns | $gbs | $ahead |"
    done
  done
} > "$out"
cat "$out"
