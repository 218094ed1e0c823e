"""Every C++ file in the tree is clang-formatted (.clang-format at the root): a change
that is not formatted fails here, with the files and the command that fixes them."""
import argparse
import shutil
import subprocess
import sys

from script_checks import check, summary


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickflow")
    parser.add_argument("--source-dir", required=True)
    parser.add_argument("--build-dir")
    args = parser.parse_args()
    clang_format = shutil.which("clang-format")
    check("clang-format is installed (scripts/setup.sh installs it)", clang_format is not None)
    if clang_format is None:
        return summary()
    listed = subprocess.run(["git", "ls-files", "*.cpp", "*.hpp", "*.h"], cwd=args.source_dir,
                            capture_output=True, text=True)
    if listed.returncode != 0:  # not a git checkout (e.g. an unpacked release): nothing to list
        print("not a git checkout; skipped")
        return summary()
    files = [f for f in listed.stdout.split("\n") if f]
    check("C++ files found", len(files) > 50, f"{len(files)} files")
    unformatted = []
    for start in range(0, len(files), 200):
        batch = files[start:start + 200]
        run = subprocess.run([clang_format, "--dry-run", "-Werror", *batch], cwd=args.source_dir,
                             capture_output=True, text=True)
        if run.returncode != 0:
            unformatted += sorted({line.split(":")[0] for line in run.stderr.splitlines()
                                   if ": error:" in line})
    check("every C++ file is clang-formatted", not unformatted,
          "not formatted: " + " ".join(unformatted) +
          "\nfix with: clang-format -i " + " ".join(unformatted))
    return summary()


if __name__ == "__main__":
    sys.exit(main())
