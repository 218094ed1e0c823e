#!/usr/bin/env bash
# Installs dependencies, builds (Release) and runs graphs/demo.yaml, printing its ticks.
# Also builds the Python package and makes `import tickflow` work in /usr/bin/python3.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build --parallel "$(nproc)" --target tickflow tickflow_python
./scripts/link_python_package.sh
./build/tickflow run graphs/demo.yaml --format table
