#!/usr/bin/env bash
# Makes `import tickflow` work in Debian's /usr/bin/python3 for the current user, from the
# build tree: writes tickflow-build.pth (one line: the absolute path of build/python) into the
# interpreter's user site-packages, as `pip install --user -e` would. Undo: delete that file.
# Another interpreter, or no user site: PYTHONPATH=build/python, or `cmake --install build`.
set -euo pipefail
cd "$(dirname "$0")/.."
python=/usr/bin/python3
site="$("$python" -c 'import site; print(site.getusersitepackages() if site.ENABLE_USER_SITE else "")')"
if [[ -z "$site" ]]; then
  echo "link_python_package: user site-packages disabled; use PYTHONPATH=$PWD/build/python" >&2
  exit 0
fi
mkdir -p "$site"
echo "$PWD/build/python" >"$site/tickflow-build.pth"
