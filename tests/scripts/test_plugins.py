#!/usr/bin/env python3
"""Plugins: every load error path, exceptions from plugin EPs at bind and run time,
`plugins:` in a query, TICKFLOW_PLUGIN_PATH, `eps` showing origins, and the example plugin
built against the *installed* package in a temporary prefix."""
import argparse
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile

from script_checks import check, summary


def run(cmd, cwd=None, env=None, timeout=600):
    r = subprocess.run(cmd, capture_output=True, cwd=cwd, env=env, timeout=timeout)
    return r.returncode, r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickflow", required=True)
    parser.add_argument("--source-dir", required=True)
    parser.add_argument("--build-dir", required=True)
    opts = parser.parse_args()
    tickflow = str(pathlib.Path(opts.tickflow).resolve())
    src = pathlib.Path(opts.source_dir).resolve()
    host_abi = re.search(r"kPluginAbiVersion = (\d+);",
                         (src / "engine/include/tickflow/plugin.hpp").read_text()).group(1)
    build = pathlib.Path(opts.build_dir).resolve()
    plugin = {k: str(build / "tests" / f"libtest_plugin_{k}.so") for k in range(5)}

    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        (tmp / "plain.yaml").write_text("tickflow: 1\nnodes:\n  g: {ep: generate, count: 3}\n")

        code, out, err = run([tickflow, "eps", "--plugin", str(tmp / "missing.so")])
        check("plugin file not found", code == 2 and "plugin not found" in err and "missing.so" in err, err)

        (tmp / "text.so").write_text("this is not a shared library\n")
        code, out, err = run([tickflow, "eps", "--plugin", str(tmp / "text.so")])
        check("not a shared library", code == 2 and "not a loadable shared library" in err, err)

        code, out, err = run([tickflow, "eps", "--plugin", plugin[2]])
        check("missing entry point", code == 2 and "no entry point 'tickflow_plugin_info'" in err, err)

        code, out, err = run([tickflow, "eps", "--plugin", plugin[4]])
        check("entry point that is data, not a function", code == 2 and
              "its entry point 'tickflow_plugin_info' is not a function" in err, err)

        code, out, err = run([tickflow, "eps", "--plugin", plugin[1]])
        check("ABI version mismatch names both versions", code == 2 and
              f"built for plugin ABI version {int(host_abi) + 41}, but this tickflow has ABI version {host_abi}" in err, err)

        code, out, err = run([tickflow, "eps", "--plugin", plugin[3]])
        check("duplicate EP name", code == 2 and "EP 'keep' is already registered (by builtin)" in err, err)

        code, out, err = run([tickflow, "eps", "--format", "json", "--plugin", plugin[0]])
        eps = {e["name"]: e for e in json.loads(out)} if code == 0 else {}
        check("eps lists plugin EPs with their origin",
              eps.get("explode_at_run", {}).get("origin") == plugin[0] and eps["keep"]["origin"] == "builtin"
              and eps["explode_at_run"].get("source") == plugin[0]
              and eps["keep"].get("source") == "eps/fields/keep_drop_rename.cpp",
              out[:300] + err)

        (tmp / "bind.yaml").write_text(f"""tickflow: 1
plugins: [{plugin[0]}]
nodes:
  g: {{ep: generate, count: 3}}
  boom:
    ep: explode_at_bind
    in: g
""")
        code, out, err = run([tickflow, "run", str(tmp / "bind.yaml")])
        check("exception at bind time is a located error", code == 2 and
              "bind.yaml:6:9: error: node 'boom': EP 'explode_at_bind' failed while binding: "
              "plugin bind gave up on purpose" in err, err)

        # plugins: relative to the query file
        (tmp / "libs").mkdir()
        os.symlink(plugin[0], tmp / "libs" / "libtest.so")
        (tmp / "runtime.yaml").write_text("""tickflow: 1
plugins: [libs/libtest.so]
nodes:
  g: {ep: generate, count: 100, interval: 100ms}
  boom: {ep: explode_at_run, in: g}
""")
        code, out, err = run([tickflow, "run", str(tmp / "runtime.yaml"), "-o", str(tmp / "out.csv"),
                              "--batch-size", "7"])
        check("exception at run time names the node and its location", code == 1 and
              "runtime.yaml:5:14: error: node 'boom'" in err and "plugin operator gave up on purpose" in err, err)
        check("no output file after a plugin failure", not (tmp / "out.csv").exists())

        (tmp / "bad_plugins.yaml").write_text("tickflow: 1\nplugins: [nope.so]\nnodes:\n  g: {ep: generate}\n")
        code, out, err = run([tickflow, "check", str(tmp / "bad_plugins.yaml")])
        check("plugins: entry not found is located", code == 2 and "bad_plugins.yaml:2:11: error: plugin not found" in err, err)

        # TICKFLOW_PLUGIN_PATH: a directory of plugins
        env = dict(os.environ, TICKFLOW_PLUGIN_PATH=str(tmp / "libs"))
        code, out, err = run([tickflow, "eps", "explode_at_run"], env=env)
        check("TICKFLOW_PLUGIN_PATH", code == 0 and out.startswith("explode_at_run"), out + err)

        # install into a prefix, build the example plugin against it, run it
        prefix = tmp / "prefix"
        code, out, err = run(["cmake", "--install", str(build), "--prefix", str(prefix)])
        check("cmake --install", code == 0 and (prefix / "bin/tickflow").exists() and
              (prefix / "include/tickflow/plugin.hpp").exists(), out + err)
        example = src / "examples/plugins/ewma"
        code, out, err = run(["cmake", "-S", str(example), "-B", str(tmp / "ewma"), "-G", "Ninja",
                              "-DCMAKE_BUILD_TYPE=Release", f"-DCMAKE_PREFIX_PATH={prefix}"])
        if code == 0:
            code, out, err = run(["cmake", "--build", str(tmp / "ewma")])
        check("example plugin builds against the installed package", code == 0, out + err)
        code, out, err = run([str(prefix / "bin/tickflow"), "run", "example.yaml", "--no-progress",
                              "--plugin", str(tmp / "ewma/libewma_eps.so")], cwd=example)
        check("example plugin output", code == 0 and out == (example / "expected.csv").read_text(), out + err)
        for threads, batch in [("2", "1"), ("1", "3")]:
            code, out2, err = run([str(prefix / "bin/tickflow"), "run", "example.yaml", "--no-progress",
                                   "--threads", threads, "--batch-size", batch,
                                   "--plugin", str(tmp / "ewma/libewma_eps.so")], cwd=example)
            check(f"example plugin deterministic (threads {threads}, batch {batch})", out2 == out, out2 + err)
        # A plugin's EP example is shown like a built-in one, and it runs as it says.
        env = dict(os.environ, TICKFLOW_PLUGIN_PATH=str(tmp / "ewma"))
        code, out, err = run([str(prefix / "bin/tickflow"), "eps", "ewma", "--format", "json"], env=env)
        ewma_example = json.loads(out)[0]["example"] if code == 0 else None
        if check("the plugin's example is shown", ewma_example is not None and
                 "ep: ewma" in ewma_example["query"], out + err):
            (tmp / "ewma_example.yaml").write_text(ewma_example["query"])
            code, out, err = run([str(prefix / "bin/tickflow"), "run", str(tmp / "ewma_example.yaml"),
                                  "--plugin", str(tmp / "ewma/libewma_eps.so")])
            check("the plugin's example prints its stated output",
                  code == 0 and out == ewma_example["output"], out + err)

    return summary()


if __name__ == "__main__":
    sys.exit(main())
