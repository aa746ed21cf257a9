"""A full check against one bare TLS handshake, through the delay proxy, at several RTTs.

    .venv/bin/python bench/rtt_bench.py [--rtt 0 50 150] [--runs 7] [--timeline]

For each RTT (bench/harness.py: fake self-hosted Canvas, Badgr API host, lab DNS, all
behind the delay proxy) it prints the median (min–max) of:

- ``openssl s_client``: one TLS handshake to the same server through the same proxy
  (its own process; no DNS);
- the full check in the engine (``runner.run_check`` with a Developer Key ID, a redirect
  URI and the Badgr region: every step, warm process, as the portal runs it);
- the same check as a command (``python -m diagnostics check ...``: start-up and imports
  included);
- the unavoidable dependent round trips: DNS, TCP, TLS (1 RTT for TLS 1.3, 2 for 1.2),
  then one HTTP exchange per dependent step (Canvas fingerprint -> hosting -> LTI key
  set: 2), times the RTT;
- connections opened and bytes exchanged per check, counted at the proxy.

``--timeline`` adds, for the last RTT, when each finding arrived (median ms). Figures
only; nothing here asserts.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections import defaultdict

from harness import ROOT, Lab, fmt, machine

DEPENDENT_HTTP_STEPS = 2  # Canvas fingerprint, then (hosting decided) the LTI key set


def openssl_handshake(lab: Lab) -> float:
    started = time.perf_counter()
    subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{lab.info['canvas_port']}",
                    "-servername", lab.info["canvas_host"], "-CAfile", lab.info["ca_bundle"]],
                   stdin=subprocess.DEVNULL, capture_output=True, check=False)
    return (time.perf_counter() - started) * 1000


def cli_check(lab: Lab) -> tuple[float, int]:
    info = lab.info
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "diagnostics", "check", info["canvas_url"], "--json",
                           "--client-id", info["client_id"], "--redirect-uri", info["redirect_uri"],
                           "--region", info["region"], "--ca-bundle", info["ca_bundle"], "--allow-private"],
                          env=lab.env(), cwd=str(ROOT), capture_output=True, check=False)
    return (time.perf_counter() - started) * 1000, done.returncode


def tls_round_trips(report) -> int:
    proto = next((f.evidence.get("protocol") for f in report.findings if f.code == "tls.protocol"), None)
    return 1 if proto == "TLSv1.3" else 2


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rtt", type=float, nargs="+", default=[0, 50, 150], help="round-trip times in ms")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--cli-runs", type=int, default=5)
    ap.add_argument("--timeline", action="store_true")
    args = ap.parse_args()

    with Lab() as lab:
        os.environ.update(lab.env())  # the regions file for the engine in this process
        from diagnostics.runner import run_check
        from diagnostics.target import parse

        target, options, policy = parse(lab.info["canvas_url"]), lab.options(), lab.policy()
        run_check(target, options, policy)  # warm: imports, trust store, catalog
        print(f"machine: {machine()}")
        print(f"target: {lab.info['canvas_url']} (self-hosted fake Canvas, key {lab.info['client_id']}, "
              f"region {lab.info['region']}); runs: {args.runs} (CLI {args.cli_runs}); ms as median (min–max)\n")
        rows = []
        timeline: dict[str, list[float]] = defaultdict(list)
        for rtt in args.rtt:
            lab.set_rtt(rtt)
            shakes = [openssl_handshake(lab) for _ in range(args.runs)]
            full, traffic = [], []
            for i in range(args.runs):
                lab.reset()
                t0 = time.perf_counter()
                arrivals: dict[str, float] = {}
                report = run_check(target, options, policy,
                                   on_finding=lambda f: arrivals.setdefault(f.code, (time.perf_counter() - t0) * 1000))
                full.append((time.perf_counter() - t0) * 1000)
                traffic.append(lab.stats())
                if rtt == args.rtt[-1]:
                    for code, ms in arrivals.items():
                        timeline[code].append(ms)
            cli = [cli_check(lab) for _ in range(args.cli_runs)]
            trips = 1 + 1 + tls_round_trips(report) + DEPENDENT_HTTP_STEPS
            last = traffic[-1]
            conns = sum(v["connections"] for k, v in last.items() if k != "dns")
            rows.append({
                "rtt": rtt, "shake": shakes, "full": full, "cli": [c[0] for c in cli],
                "trips": trips, "unavoidable": trips * rtt, "conns": conns, "dns": last["dns"]["connections"],
                "up": sum(v["bytes_up"] for v in last.values()), "down": sum(v["bytes_down"] for v in last.values()),
                "verdict": report.verdict.value, "findings": len(report.findings),
                "canvas": last["canvas"], "badgr": last["badgr"],
            })

        print(f"{'RTT':>5} | {'openssl s_client':>18} | {'full check (engine)':>19} | {'ratio':>5} | "
              f"{'check command (CLI)':>19} | {'unavoidable':>14} | {'full/unavoid.':>13}")
        for r in rows:
            ratio = statistics.median(r["full"]) / statistics.median(r["shake"])
            unavoid = f"{r['trips']} RTT = {r['unavoidable']:.0f}"
            over = f"{statistics.median(r['full']) / r['unavoidable']:.2f}x" if r["unavoidable"] else "-"
            print(f"{r['rtt']:>5.0f} | {fmt(r['shake']):>18} | {fmt(r['full']):>19} | {ratio:5.2f} | "
                  f"{fmt(r['cli']):>19} | {unavoid:>14} | {over:>13}")
        print()
        print(f"{'RTT':>5} | connections (Canvas + Badgr) | DNS queries | bytes up | bytes down | verdict, findings")
        for r in rows:
            print(f"{r['rtt']:>5.0f} | {r['conns']:>5} ({r['canvas']['connections']} + {r['badgr']['connections']})"
                  f"{'':<17}| {r['dns']:>11} | {r['up']:>8} | {r['down']:>10} | {r['verdict']}, {r['findings']}")
        if args.timeline:
            print(f"\nwhen each finding arrived at {args.rtt[-1]:g} ms RTT (median ms since the run started):")
            for code, samples in sorted(timeline.items(), key=lambda kv: statistics.median(kv[1])):
                print(f"  {statistics.median(samples):7.0f}  {code}")


if __name__ == "__main__":
    main()
