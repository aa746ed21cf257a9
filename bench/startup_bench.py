"""Start-up time of the command line: what a person waits before any work starts.

    .venv/bin/python bench/startup_bench.py [--runs 15]

Times whole processes (median (min–max) ms over the runs): an empty interpreter, ``python
-m diagnostics --help``, ``explain`` of a one-line paste, and importing everything a
``check`` needs (runner + every check module, the libraries they use), each twice: with
this environment's settings (``PYTHONDONTWRITEBYTECODE=1`` is set on these machines, so
the project's own modules are compiled from source on every start) and with byte code
cached in a throw-away ``PYTHONPYCACHEPREFIX`` (what an installed deployment sees). Then
the heaviest imports of the check path by ``python -X importtime`` (cumulative ms, one run).
Figures only; nothing here asserts.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

from harness import ROOT, fmt, machine

CHECK_IMPORTS = ("from diagnostics.runner import Options, default_checks; default_checks(Options()); "
                 "import diagnostics.cli")
CASES = (
    ("python -c pass", ["-c", "pass"], None),
    ("python -m diagnostics --help", ["-m", "diagnostics", "--help"], None),
    ("python -m diagnostics explain (1 line)", ["-m", "diagnostics", "explain", "-"],
     b"redirect_uri does not match client settings\n"),
    ("imports of a check (runner + checks)", ["-c", CHECK_IMPORTS], None),
)


def timed(argv: list[str], stdin: bytes | None, env: dict[str, str], runs: int) -> list[float]:
    samples = []
    for _ in range(runs + 1):
        started = time.perf_counter()
        subprocess.run([sys.executable, *argv], input=stdin, env=env, cwd=str(ROOT), capture_output=True, check=True)
        samples.append((time.perf_counter() - started) * 1000)
    return samples[1:]  # the first run warms the OS file cache (and fills the byte-code cache)


def heaviest_imports(env: dict[str, str], top: int) -> list[tuple[int, str]]:
    """(ms, package) for the packages whose first import costs most (cumulative, so a
    package imported by another counts in both)."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", CHECK_IMPORTS], env=env, cwd=str(ROOT),
                          capture_output=True, text=True, check=True)
    cost: dict[str, int] = {}
    for line in done.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|\s*(\S+)", line)
        if m:
            name = m.group(3)
            key = name if name.startswith("diagnostics") else name.split(".")[0]
            cost[key] = max(cost.get(key, 0), int(m.group(2)) // 1000)
    return sorted(((ms, name) for name, ms in cost.items()), reverse=True)[:top]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--top", type=int, default=12)
    args = ap.parse_args()
    here = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="connect-check-pycache-") as cache:
        cached = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        cached["PYTHONPYCACHEPREFIX"] = cache
        print(f"machine: {machine()}; PYTHONDONTWRITEBYTECODE={os.environ.get('PYTHONDONTWRITEBYTECODE', '')!r}")
        print(f"runs: {args.runs}; ms as median (min–max)\n")
        print(f"{'process':<40} | {'as configured here':>18} | {'byte code cached':>18}")
        for name, argv, stdin in CASES:
            plain = timed(argv, stdin, here, args.runs)
            warm = timed(argv, stdin, cached, args.runs)
            print(f"{name:<40} | {fmt(plain):>18} | {fmt(warm):>18}")
        print(f"\nheaviest imports of a check (python -X importtime, cumulative ms, byte code cached; load "
              f"{os.getloadavg()[0]:.2f}):")
        for ms, name in heaviest_imports(cached, args.top):
            print(f"  {ms:5d}  {name}")
    _ = statistics  # (fmt uses it)


if __name__ == "__main__":
    main()
