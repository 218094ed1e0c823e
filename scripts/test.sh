#!/usr/bin/env bash
# Installs dependencies, then runs every CI job in turn and prints how long each took
# (docs/reliability.md lists them with their measured times):
#   release  Release build (g++) and the whole ctest suite
#   asan     clang -O1 build with AddressSanitizer + UndefinedBehaviorSanitizer (and libFuzzer
#            coverage) in build-asan: unit, golden, script and fuzz-regression tests
#   fuzz     every libFuzzer target of tests/fuzz, the fixed campaign (seed 1, a set number
#            of inputs each: reproducible); TICKFLOW_FUZZ_SECONDS=N explores N s each instead
#   tsan     clang -O1 build with ThreadSanitizer in build-tsan: the unit tests that run on
#            several threads (executor, symbol runner, parallel sort, serve) and the
#            multi-symbol, flow-control and serve script tests
# CI runs all four (docs/reliability.md has their measured times); TICKFLOW_CI_JOBS picks
# some, e.g. TICKFLOW_CI_JOBS=release for the quick local run.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${TICKFLOW_CI_JOBS:-release asan fuzz tsan}
if [[ "$jobs" == *asan* || "$jobs" == *fuzz* || "$jobs" == *tsan* ]]; then
  ./scripts/setup.sh --sanitizers
else
  ./scripts/setup.sh
fi
cores=$(nproc)
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=0"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$PWD/tests/sanitizers/ubsan.supp"
export LSAN_OPTIONS="suppressions=$PWD/tests/sanitizers/lsan.supp"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/tests/sanitizers/tsan.supp"
summary=()

# configure_sanitized DIR SANITIZERS [cmake args...]: clang, -O1 with line tables.
configure_sanitized() {
  local dir=$1 sanitize=$2
  shift 2
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER=clang++ \
    -DCMAKE_CXX_FLAGS_DEBUG="-O1 -gline-tables-only" -DTICKFLOW_SANITIZE="$sanitize" \
    -DTICKFLOW_BUILD_BENCH=OFF "$@" >/dev/null
}

run_job() {
  local name=$1 start=$SECONDS
  shift
  echo "=== $name"
  "$@"
  summary+=("$name: $((SECONDS - start)) s")
}

job_release() {
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
  cmake --build build --parallel "$cores"
  ./scripts/link_python_package.sh
  ctest --test-dir build --output-on-failure --parallel "$cores"
}

job_asan() {
  configure_sanitized build-asan address,undefined -DTICKFLOW_FUZZ=ON
  cmake --build build-asan --parallel "$cores"
  # Not here: the formatting check and the browser test, which run no tickflow code of
  # their own worth instrumenting twice (the release job runs them).
  ctest --test-dir build-asan --output-on-failure --parallel "$cores" \
    -E '^script\.(test_formatting|test_serve_docs_browser)$'
}

job_fuzz() {
  [[ -x build-asan/tests/fuzz/fuzz_query ]] || job_asan
  ./scripts/fuzz.sh build-asan "${TICKFLOW_FUZZ_SECONDS:---fixed}"
}

job_tsan() {
  configure_sanitized build-tsan thread
  cmake --build build-tsan --parallel "$cores" --target tickflow_concurrency_tests tickflow
  build-tsan/tests/tickflow_concurrency_tests
  # Not here: test_parallel_output. Parallel output hands row ranges to oneTBB tasks, and
  # oneTBB (not built with ThreadSanitizer) copies the task objects on the spawning thread
  # in ways no annotation can order before the task reads them: 1 run in 3 reports that
  # copy as a race (docs/reliability.md).
  ctest --test-dir build-tsan --output-on-failure --parallel "$cores" \
    -R '^(script\.test_(symbols|flow_control|serve_http|serve_journal)|golden\.(symbols|state)_.*)$'
}

for job in $jobs; do
  run_job "$job" "job_$job"
done
printf '%s\n' "${summary[@]}"
