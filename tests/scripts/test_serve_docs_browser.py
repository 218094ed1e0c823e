#!/usr/bin/env python3
"""/docs (Swagger UI) and /redoc (ReDoc) of `tickflow serve` render offline in headless
Debian chromium: the screenshot is a real picture and every endpoint of openapi.json is in
the rendered DOM. The pages load only the server's own built-in assets."""
import argparse
import html
import json
import pathlib
import shutil
import subprocess
import sys
import tempfile

from script_checks import check, summary
from serve_support import Server

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--virtual-time-budget=15000", "--window-size=1280,900"]


def chromium(profile, *args):
    r = subprocess.run(["chromium", *FLAGS, f"--user-data-dir={profile}", *args],
                       capture_output=True, timeout=120)
    return r.returncode, r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickflow", required=True)
    parser.add_argument("--source-dir", required=True)
    parser.add_argument("--build-dir")
    opts = parser.parse_args()
    if shutil.which("chromium") is None:
        check("chromium is installed (scripts/setup.sh installs it)", False)
        return summary()
    spec = json.loads((pathlib.Path(opts.source_dir) / "server/openapi.json").read_text())
    paths = list(spec["paths"])
    summaries = [op["summary"] for methods in spec["paths"].values() for op in methods.values()]

    with tempfile.TemporaryDirectory() as tmp, Server(opts.tickflow, ["--threads", "2"]) as server:
        tmp = pathlib.Path(tmp)
        base = f"http://127.0.0.1:{server.port}"
        for page in ("docs", "redoc"):
            profile = tmp / f"profile-{page}"
            code, dom, err = chromium(profile, "--dump-dom", f"{base}/{page}")
            text = html.unescape(dom)
            check(f"/{page}: chromium dumped the DOM", code == 0 and len(dom) > 2000, err[-1500:])
            if page == "docs":
                missing = [p for p in paths if f">{p}<" not in text and p not in text]
                check("/docs: every path in the DOM", "opblock" in dom and not missing,
                      f"missing {missing}")
            else:
                missing = [s for s in summaries if s not in text]
                check("/redoc: every operation in the DOM", "redoc" in dom.lower() and not missing,
                      f"missing {missing}")
            shot = tmp / f"{page}.png"
            code, _, err = chromium(tmp / f"profile-{page}-shot", f"--screenshot={shot}",
                                    f"{base}/{page}")
            data = shot.read_bytes() if shot.exists() else b""
            # A blank 1280x900 page compresses to a few KB; the rendered pages are far larger.
            check(f"/{page}: screenshot is a rendered page",
                  data.startswith(b"\x89PNG") and len(data) > 30000, f"{len(data)} bytes; {err[-800:]}")
        check("server stops with 0", server.stop() == 0, server.stderr)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
