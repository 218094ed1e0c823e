# Shared set-up of the benchmark scripts (sourced, not run). Expects ROOT, DATA, BUILD_DIR and
# PYTHON to be set; `bench_prepare NAME` checks the tools, builds tickflow (Release) unless
# SKIP_BUILD=1, and points TICKFLOW at a private copy of the binary in $DATA/bin-NAME, so that
# a rebuild during the run cannot change what is measured.

log() { printf '\n== %s\n' "$*" >&2; }
die() { printf '%s: %s\n' "${BENCH_NAME:-bench}" "$*" >&2; exit 1; }

bench_prepare() {
  BENCH_NAME="$1.sh"
  command -v hyperfine >/dev/null || die "hyperfine not found (scripts/setup.sh --bench installs it)"
  "$PYTHON" -c 'import pandas' 2>/dev/null ||
    die "$PYTHON cannot import pandas (scripts/setup.sh --bench)"
  mkdir -p "$DATA"
  if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    log "building tickflow (Release) in $BUILD_DIR"
    [[ -f "$BUILD_DIR/CMakeCache.txt" ]] ||
      cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >"$DATA/build.log" 2>&1
    cmake --build "$BUILD_DIR" --target tickflow >"$DATA/build.log" 2>&1 ||
      { tail -n 30 "$DATA/build.log" >&2; die "build failed"; }
  fi
  [[ "$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD_DIR/CMakeCache.txt")" == Release ]] ||
    die "$BUILD_DIR is not a Release build"
  local bin="$DATA/bin-$1"
  rm -rf "${bin:?}" && mkdir -p "$bin"
  cp "$BUILD_DIR/tickflow" "$bin/" && cp -P "$BUILD_DIR"/libtickflow.so* "$bin/"
  TICKFLOW="$bin/tickflow"
  export LD_LIBRARY_PATH="$bin${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
}
