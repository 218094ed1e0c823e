#!/usr/bin/env python3
"""docs/design.md opens with a map of the tree: every folder of engine/src and eps (and the
top-level parts) has a line there, and every folder the map names exists."""
import argparse
import pathlib
import re

from script_checks import check, summary


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickflow")
    parser.add_argument("--source-dir", required=True)
    parser.add_argument("--build-dir")
    src = pathlib.Path(parser.parse_args().source_dir)

    text = (src / "docs/design.md").read_text()
    block = re.search(r"## Map of the tree\n.*?```\n(.*?)```", text, re.S)
    check("docs/design.md has a map of the tree", block is not None, text[:400])
    mapped = [line.split()[0].rstrip("/") for line in (block.group(1) if block else "").splitlines()
              if line.strip()]
    missing = [m for m in mapped if not (src / m).is_dir()]
    check("every folder in the map exists", not missing, str(missing))

    folders = [f"{parent}/{d.name}" for parent in ("engine/src", "eps")
               for d in sorted((src / parent).iterdir()) if d.is_dir()]
    # Top-level parts (engine/ and eps/ are mapped by their subfolders; build trees skipped).
    folders += [d.name for d in sorted(src.iterdir())
                if d.is_dir() and not d.name.startswith(".") and d.name not in ("engine", "eps")
                and not (d / "CMakeCache.txt").exists()]
    unmapped = [f for f in folders if f not in mapped]
    check("every folder of engine/src, eps and the top level is in the map", not unmapped,
          str(unmapped))
    return summary()


if __name__ == "__main__":
    raise SystemExit(main())
