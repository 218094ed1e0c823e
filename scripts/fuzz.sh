#!/usr/bin/env bash
# Runs every libFuzzer target of tests/fuzz for a bounded time each; exits non-zero on the
# first crash, leak, sanitizer report or timeout (the failing input is left in
# BUILD/fuzz/artifacts/). The build dir must be configured with clang, TICKFLOW_FUZZ=ON
# and TICKFLOW_SANITIZE=address,undefined (scripts/test.sh does this in build-asan).
#   scripts/fuzz.sh [BUILD_DIR] [SECONDS_PER_TARGET|--fixed] [TARGET...]
# SECONDS explores: a random seed, and the corpus kept in BUILD/fuzz/corpus grows run by
# run. --fixed is CI's campaign: seed 1, a fixed number of inputs per target (about 25 s
# each on a 2-core machine) from the seeds alone, so a CI failure is reproduced exactly by
# running the same command on the same commit, and a commit that passes it here passes in CI.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-asan}
seconds=${2:-30}
declare -A fixed_runs=([query]=12000 [expr]=30000 [csv]=14000 [time]=2000000 [http]=600000
  [archive]=400000)
shift $(($# > 2 ? 2 : $#))
targets=("$@")
if ((${#targets[@]} == 0)); then targets=(query expr csv time http archive); fi

work="$build/fuzz"
mkdir -p "$work/artifacts"
# A small archive loaded from a test CSV seeds the archive target.
rm -rf "$work/archive"
"$build/tickflow" load tests/golden/expr_csv_path_range/trades-20240102.csv --db "$work/archive" \
  --table trades --symbol AAPL >/dev/null
python3 tests/fuzz/make_seeds.py --source-dir . --out "$work/seeds" --archive "$work/archive"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1:suppressions=$PWD/tests/sanitizers/ubsan.supp}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$PWD/tests/sanitizers/lsan.supp}"
for target in "${targets[@]}"; do
  if [[ "$seconds" == --fixed ]]; then
    corpus="$work/corpus-fixed/$target"
    rm -rf "$corpus"
    budget=(-seed=1 -runs="${fixed_runs[$target]}")
    echo "fuzz: $target, seed 1, ${fixed_runs[$target]} inputs"
  else
    corpus="$work/corpus/$target"
    budget=(-max_total_time="$seconds")
    echo "fuzz: $target for ${seconds}s"
  fi
  mkdir -p "$corpus"
  # New inputs go to the first directory; seeds and the regression inputs are read only.
  "$build/tests/fuzz/fuzz_$target" "${budget[@]}" -timeout=10 -rss_limit_mb=2048 \
    -max_len=65536 -print_final_stats=1 -artifact_prefix="$work/artifacts/$target-" \
    "$corpus" "$work/seeds/$target" "tests/fuzz/regressions/$target" 2>"$work/$target.log" || {
    tail -n 60 "$work/$target.log"
    echo "fuzz: $target FAILED; the input is in $work/artifacts/" >&2
    exit 1
  }
  grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb" "$work/$target.log" | tr '\n' ' '
  echo
done
echo "fuzz: all targets ran without a failure"
