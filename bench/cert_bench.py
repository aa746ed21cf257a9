"""Our certificate step alone against sslyze's certificate scan, same server, same RTT.

    make bench-setup                                   # once: sslyze into bench/.venv
    .venv/bin/python bench/cert_bench.py [--rtt 0 50 150] [--runs 7]

Ours: the Address and Certificate steps only (``checks/dns.py`` + ``checks/tls.py``: TCP,
handshake, the chain as sent analysed against the trust store), in a warm process, the
address given like sslyze's (``--resolve``, so no DNS). sslyze: a ``Scanner`` with only
``certificate_info`` (plus the connectivity test it always runs first) in its own warm
process in bench/.venv, with the same CA file. Both connect through the delay proxy to
the fake Canvas (bench/harness.py). Connections per scan are counted at the proxy.
Figures only; nothing here asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import pathlib
import statistics
import subprocess
import time

from harness import ROOT, Lab, fmt, machine

SSLYZE_PY = ROOT / "bench" / ".venv" / "bin" / "python"
SSLYZE_SCRIPT = pathlib.Path(__file__).resolve().parent / "_sslyze_scan.py"


def ours(lab: Lab, runs: int) -> tuple[list[float], int, list[str]]:
    from diagnostics.checks import dns, tls
    from diagnostics.runner import CheckSpec, Options, run_async
    from diagnostics.target import parse

    specs = [CheckSpec("dns", "address", dns.check, ("dns",)), CheckSpec("tls", "certificate", tls.check, ("tls",))]
    target = parse(lab.info["canvas_url"])
    policy = lab.policy(resolve={(target.host, target.port): ("127.0.0.1",)})

    def once():
        return asyncio.run(run_async(target, Options(), policy, checks=specs))

    once()  # warm-up
    lab.reset()
    report = once()
    conns = lab.stats()["canvas"]["connections"]
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        once()
        samples.append((time.perf_counter() - started) * 1000)
    return samples, conns, [f.code for f in report.findings]


def sslyze(lab: Lab, runs: int) -> tuple[list[float], int, bool]:
    info = lab.info
    argv = [str(SSLYZE_PY), str(SSLYZE_SCRIPT), info["canvas_host"], str(info["canvas_port"]), "127.0.0.1",
            info["ca_bundle"]]
    lab.reset()
    subprocess.run([*argv, "1", "once"], capture_output=True, check=True)
    conns = lab.stats()["canvas"]["connections"]
    done = subprocess.run([*argv, str(runs)], capture_output=True, text=True, check=True)
    out = json.loads(done.stdout.strip().splitlines()[-1])
    return out["samples"], conns, out["ok"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rtt", type=float, nargs="+", default=[0, 50, 150])
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    if not SSLYZE_PY.exists():
        raise SystemExit("bench/.venv is missing: run `make bench-setup` first (installs sslyze there only)")
    with Lab() as lab:
        print(f"machine: {machine()}")
        print(f"server: {lab.info['canvas_url']} via the delay proxy; runs: {args.runs}; ms as median (min–max)\n")
        print(f"{'RTT':>5} | {'ours: certificate step':>22} | {'sslyze certificate_info':>23} | {'sslyze/ours':>11} | "
              f"conns ours / sslyze")
        for rtt in args.rtt:
            lab.set_rtt(rtt)
            mine, my_conns, codes = ours(lab, args.runs)
            theirs, their_conns, ok = sslyze(lab, args.runs)
            speed = statistics.median(theirs) / statistics.median(mine)
            print(f"{rtt:>5.0f} | {fmt(mine):>22} | {fmt(theirs):>23}{'' if ok else ' (failed!)'} | "
                  f"{speed:10.1f}x | {my_conns} / {their_conns}")
        print(f"\nour findings: {', '.join(codes)}")


if __name__ == "__main__":
    main()
