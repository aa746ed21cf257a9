"""Batch checks of 200 local Canvas URLs at concurrency 1, 10 and 50: throughput, speed-up.

    .venv/bin/python bench/batch_bench.py [--rtt 0 50] [--urls 200] [--concurrency 1 10 50] [--runs 3]

Each URL is its own host name (c000.batch.bench.test ...) on a fake Canvas behind the
delay proxy (bench/harness.py), resolved through the lab DNS, so every check pays its own
DNS, TCP, TLS and HTTP round trips. ``batch.run_batch`` is called as the CLI and the
support page call it; it caps concurrency at ``batch.MAX_CONCURRENCY``, and the table
shows the concurrency that actually ran.

The CPU columns say what bounds the speed-up: ``client CPU`` is this process's CPU time
per check (all checks share one interpreter, so one core at most: the GIL), ``lab CPU``
the lab process's (TLS servers, fake Canvas, delay proxy) per check; with 2 cores, the
best a batch can do is about ``1 / client CPU`` checks per second, and less when the
lab's share of the cores is large.

``--one-loop`` adds an experiment: the same checks as coroutines on one event loop in one
thread (``runner.run_async`` directly, with one thread pool shared by every run instead
of the pool ``run_async`` makes per run - patched here, in the bench only), to measure
what running a batch without a thread and a loop per check would give. Figures only;
nothing here asserts.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from harness import Lab, fmt, machine


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rtt", type=float, nargs="+", default=[0, 50])
    ap.add_argument("--urls", type=int, default=200)
    ap.add_argument("--concurrency", type=int, nargs="+", default=[1, 10, 50])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--one-loop", action="store_true", help="also run the one-event-loop experiment")
    args = ap.parse_args()

    from diagnostics import batch

    with Lab() as lab:
        urls = lab.info["batch_urls"][: args.urls]
        policy = lab.policy()
        batch.run_batch(urls[:4], concurrency=4, policy=policy)  # warm-up
        print(f"machine: {machine()}")
        print(f"{len(urls)} URLs; runs: {args.runs}; batch.MAX_CONCURRENCY = {batch.MAX_CONCURRENCY}; "
              "wall time in ms as median (min–max)\n")
        print(f"{'RTT':>5} | {'asked':>5} | {'ran':>3} | {'wall ms':>22} | {'checks/s':>8} | {'speed-up':>8} | "
              f"{'per check ms':>12} | {'client CPU':>10} | {'lab CPU':>7} | load | verdicts")
        for rtt in args.rtt:
            lab.set_rtt(rtt)
            base = None
            for mode, conc in [("threads", c) for c in args.concurrency] + \
                    ([("one loop", c) for c in args.concurrency] if args.one_loop else []):
                if mode == "one loop" and conc == args.concurrency[0]:
                    base = None
                    print(f"{'':>5} | one event loop, one shared thread pool (experiment):")
                run = batch.run_batch if mode == "threads" else one_loop_batch
                walls, rows = [], []
                cpu0, lab0 = time.process_time(), lab.cpu_seconds()
                for _ in range(args.runs):
                    started = time.perf_counter()
                    rows = run(urls, concurrency=conc, policy=policy)
                    walls.append((time.perf_counter() - started) * 1000)
                checks = len(urls) * args.runs
                client_cpu = (time.process_time() - cpu0) / checks * 1000
                lab_cpu = (lab.cpu_seconds() - lab0) / checks * 1000
                wall = statistics.median(walls)
                base = base or wall
                ran = max(1, min(conc, batch.MAX_CONCURRENCY, len(urls)))
                verdicts: dict[str, int] = {}
                for r in rows:
                    verdicts[r["verdict"]] = verdicts.get(r["verdict"], 0) + 1
                per_check = statistics.median(r["elapsed_ms"] for r in rows if r.get("elapsed_ms") is not None)
                print(f"{rtt:>5.0f} | {conc:>5} | {ran:>3} | {fmt(walls):>22} | {len(urls) / wall * 1000:8.1f} | "
                      f"{base / wall:7.1f}x | {per_check:12.0f} | {client_cpu:7.1f} ms | {lab_cpu:4.1f} ms | "
                      f"{os.getloadavg()[0]:4.1f} | {verdicts}")


def one_loop_batch(urls, concurrency: int, policy) -> list[dict]:
    """The experiment behind ``--one-loop``: every check a coroutine on this thread's loop."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from diagnostics import runner
    from diagnostics.batch import row_for
    from diagnostics.target import parse

    class SharedPool(ThreadPoolExecutor):
        def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
            pass  # a run ending must not stop the pool the other runs use

        def close(self) -> None:
            super().shutdown(wait=True)

    pool = SharedPool(max_workers=2 * concurrency + 4, thread_name_prefix="bench-one-loop")
    made_per_run = runner.ThreadPoolExecutor
    runner.ThreadPoolExecutor = lambda *a, **k: pool  # type: ignore[misc,assignment]

    async def all_checks() -> list[dict]:
        semaphore = asyncio.Semaphore(concurrency)

        async def one(url: str) -> dict:
            async with semaphore:
                return row_for(url, await runner.run_async(parse(url), runner.Options(), policy))

        return list(await asyncio.gather(*(one(u) for u in urls)))

    try:
        return asyncio.run(all_checks())
    finally:
        runner.ThreadPoolExecutor = made_per_run  # type: ignore[misc]
        pool.close()


if __name__ == "__main__":
    main()
