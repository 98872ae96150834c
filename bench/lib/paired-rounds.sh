# Shared by bench/run-*.sh (sourced, not run): the tools, and paired rounds of AnnServer against hnswlib compiled for
# this CPU. Why rounds, why builds run at normal priority and rounds under SCHED_FIFO: bench/run-fashion-mnist.sh.

# build_tools WORK_DIR: ann-bench built into WORK_DIR/build (sets the array ann_bench), hnswlib-native compiled into
# WORK_DIR, and fifo set to `chrt -f 50` when running as root.
build_tools() {
  local work="$1"
  dotnet build -c Release "$repo/bench/AnnServer.Harness" --artifacts-path "$work/build" -v q -nologo
  ann_bench=(dotnet "$work/build/bin/AnnServer.Harness/release/ann-bench.dll")
  hnswlib_native="$work/hnswlib-native"
  # Compiled again whenever the source is newer: an older binary may not know --index or --metric.
  [[ "$hnswlib_native" -nt "$repo/bench/peers/hnswlib_native.cpp" ]] ||
    g++ -O3 -march=native -std=c++17 -pthread -o "$hnswlib_native" "$repo/bench/peers/hnswlib_native.cpp"
  fifo=()
  if [[ $(id -u) == 0 ]]; then fifo=(chrt -f 50); fi
}

# paired_rounds ROUNDS PREFIX: ROUNDS rounds in which AnnServer (loading the snapshots in ours_indexes) and hnswlib
# (loading hnswlib_index) each measure every ef, taking turns at going first. Reads the arrays files, common,
# ours_args (extra ann-bench recall options) and hnswlib_args (extra hnswlib-native options); writes
# PREFIX-round-N-{annserver,hnswlib}.json and appends them to the array round_files.
paired_rounds() {
  local rounds="$1" prefix="$2" round
  for ((round = 1; round <= rounds; round++)); do
    uptime
    if ((round % 2 == 1)); then _measure_hnswlib "$prefix-round-$round"; _measure_ours "$prefix-round-$round"
    else _measure_ours "$prefix-round-$round"; _measure_hnswlib "$prefix-round-$round"; fi
    round_files+=("$prefix-round-$round-annserver.json" "$prefix-round-$round-hnswlib.json")
  done
}

_measure_hnswlib() {
  "${fifo[@]}" "$hnswlib_native" "${files[@]}" "${common[@]}" "${hnswlib_args[@]}" --index "$hnswlib_index" --json "$1-hnswlib.json"
}

_measure_ours() {
  "${fifo[@]}" "${ann_bench[@]}" recall --index "${ours_indexes[@]}" "${files[@]}" "${common[@]}" "${ours_args[@]}" --threads 1 \
    --json "$1-annserver.json"
}
