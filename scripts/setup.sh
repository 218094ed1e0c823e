#!/usr/bin/env bash
# Installs every build, test and benchmark dependency of tickflow from Debian packages.
# --sanitizers adds clang, its sanitizer and libFuzzer runtimes (libclang-rt-14-dev) and
# llvm-symbolizer (llvm) for the sanitizer and fuzzing jobs of scripts/test.sh.
# Idempotent: packages already present are skipped; uses sudo only when not root.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config
  libtbb-dev libfmt-dev libyaml-cpp-dev doctest-dev
  libcli11-dev libfast-float-dev nlohmann-json3-dev libhowardhinnant-date-dev tzdata
  python3 clang-format git
  librestinio-dev libasio-dev libsimdjson-dev zlib1g-dev
  libzstd-dev libxxhash-dev zstd
  chromium
  python3-dev pybind11-dev python3-pybind11 python3-numpy python3-pandas python3-pytest
  python3-distributed
)
if [[ "${1:-}" == "--sanitizers" ]]; then
  PACKAGES+=(clang libclang-rt-14-dev llvm)
fi
if [[ "${1:-}" == "--bench" ]]; then
  PACKAGES+=(python3-pandas python3-numpy libbenchmark-dev hyperfine wrk python3-fastapi python3-uvicorn)
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

SUDO=""
if [[ "$(id -u)" != "0" ]]; then SUDO="sudo"; fi
echo "setup: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
