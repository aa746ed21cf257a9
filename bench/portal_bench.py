"""The portal as a person sees it: Enter -> first finding on screen -> verdict; server memory.

    .venv/bin/python bench/portal_bench.py [--rtt 0 150] [--runs 5] [--sessions 20]

Starts the bench lab (bench/harness.py: fake self-hosted Canvas, Badgr API host and lab
DNS behind the delay proxy) and ``streamlit run streamlit_app.py`` pointed at it through
the CONNECT_CHECK_* settings, then drives Debian's Chromium with Playwright:

- **Enter -> first finding / verdict**: a fresh browser context (a new session) opens
  the home page, types the Canvas URL with the Developer Key ID and region, and presses
  Enter in the URL box. A script in the page stamps ``performance.now()`` at the Enter
  key-down and a MutationObserver stamps when the live status first says "1 finding so
  far" (the first finding line is drawn just before that label) and when the verdict
  banner (``.st-key-verdict-*``) appears. Both are browser-side clocks: what a person
  sees, Streamlit's rerun, websocket and rendering included. "run done" is when the
  status box says "Checked ... in N s" (the engine finished; the page then reruns to draw
  the verdict and the full report). Each run types a different
  address in the key's "Redirect URI (Legacy)" field (always on Badgr's redirect host, so
  it only adds one pure, instant finding, ``oauth.redirect_uri_advice``, and no network
  work): the portal's one-minute cache, keyed by the inputs, never answers. That advice
  is also the first finding on screen, so "first finding" measures how soon the page
  shows anything; the first finding that needs the network (``dns.resolved``) comes one
  RTT later (see bench/rtt_bench.py --timeline). The rate limits are lifted for the bench.
- **memory**: the Streamlit server's resident set size (VmRSS of the process) after
  start-up, with N sessions open on the home page, and with the same N sessions each
  holding a finished report (one check run in each).

Figures only; nothing here asserts.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Iterator

from harness import Lab, fmt, machine
from tests.e2e.portal_server import serve_process  # noqa: E402 - harness puts the repo on sys.path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
WAIT_MS = 60_000

#: Installed before any page script runs: stamps Enter, the first finding and the verdict.
TIMING_SCRIPT = """
(() => {
  const b = window.__bench = {enter: null, first: null, done: null, verdict: null};
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && b.enter === null) b.enter = performance.now();
  }, true);
  const look = () => {
    if (b.enter === null) return;
    const now = performance.now();
    const text = document.body.innerText;
    if (b.first === null && /\\d+ findings? so far/.test(text)) b.first = now;
    if (b.done === null && /Checked \\S+ in [\\d.]+ s/.test(text)) b.done = now;
    if (b.verdict === null && document.querySelector("[class*='st-key-verdict-']")) {
      b.verdict = now;
      if (b.first === null) b.first = now;  // (the cache answered: no live view)
      if (b.done === null) b.done = now;
    }
  };
  new MutationObserver(look).observe(document, {subtree: true, childList: true, characterData: true});
})();
"""


def rss_mib(pid: int) -> float:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@contextlib.contextmanager
def portal(lab: Lab, port: int, watcher: str | None = None) -> Iterator[tuple[str, subprocess.Popen]]:
    store = Path(tempfile.mkdtemp(prefix="connect-check-bench-store-"))
    env = {**lab.env(), "CONNECT_CHECK_STORE": str(store / "reports.sqlite3"),
           "CONNECT_CHECK_RATE_SESSION": "10000/60", "CONNECT_CHECK_RATE_TARGET": "10000/60"}
    try:
        with serve_process(env, store / "streamlit.log", port=port, file_watcher=watcher or "none") as running:
            yield running
    finally:
        shutil.rmtree(store, ignore_errors=True)


def open_home(browser, base: str):
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    context.set_default_timeout(WAIT_MS)
    context.add_init_script(TIMING_SCRIPT)
    page = context.new_page()
    page.goto(base + "/")
    page.wait_for_selector("h1:has-text('Connect Check')")
    page.get_by_role("textbox", name="Canvas URL", exact=True).wait_for()
    return context, page


def fill_and_enter(page, lab: Lab, n: int) -> dict[str, float]:
    from portal.browser import REGION_LABELS

    info = lab.info
    page.get_by_role("textbox", name="Canvas URL", exact=True).fill(info["canvas_url"])
    page.get_by_role("combobox", name="Badgr region").click()
    page.get_by_role("option", name=REGION_LABELS[info["region"]], exact=True).click()
    page.get_by_text("Advanced: check a Developer Key").click()
    page.get_by_role("textbox", name="Developer Key ID", exact=True).fill(info["client_id"])
    page.get_by_role("textbox", name="Redirect URI", exact=True).fill(info["redirect_uri"])
    page.get_by_role("textbox", name="Redirect URI (Legacy) in your Developer Key", exact=True).fill(
        f"https://badgr.bench.test/bench/{n}")  # a new cache key each run (see the module doc)
    page.get_by_role("textbox", name="Canvas URL", exact=True).press("Enter")
    page.wait_for_selector("[class*='st-key-verdict-']")
    page.wait_for_function("() => window.__bench.verdict !== null")
    times = page.evaluate("() => window.__bench")
    return {k: times[k] - times["enter"] for k in ("first", "done", "verdict")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rtt", type=float, nargs="+", default=[0, 150])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--port", type=int, default=0, help="Streamlit port (default: a free one)")
    ap.add_argument("--file-watcher", choices=["auto", "watchdog", "poll", "none"], default=None,
                    help="--server.fileWatcherType for the server (default: none, as in .streamlit/config.toml)")
    args = ap.parse_args()
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} is missing (make chromium installs Debian's)")
    from playwright.sync_api import sync_playwright

    from tests.lab.servers import free_port

    with Lab() as lab, portal(lab, args.port or free_port(), args.file_watcher) as (base, proc), \
            sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        print(f"machine: {machine()}")
        print(f"file watcher: {args.file_watcher or 'none (as configured)'}")
        print(f"portal {base}, checking {lab.info['canvas_url']} with key {lab.info['client_id']} and region "
              f"{lab.info['region']}; runs: {args.runs}; ms as median (min–max)\n")
        variants = itertools.count(2)
        rss_start = rss_mib(proc.pid)
        warm_ctx, warm = open_home(browser, base)  # first page load imports the pages and the engine
        fill_and_enter(warm, lab, 1)
        warm_ctx.close()

        print(f"{'RTT':>5} | {'Enter -> first finding':>22} | {'Enter -> run done':>18} | {'Enter -> verdict':>18} | "
              f"engine alone | load")
        for rtt in args.rtt:
            lab.set_rtt(rtt)
            firsts, dones, verdicts = [], [], []
            for i in range(args.runs):
                context, page = open_home(browser, base)
                t = fill_and_enter(page, lab, next(variants))
                firsts.append(t["first"])
                dones.append(t["done"])
                verdicts.append(t["verdict"])
                context.close()
            engine = _engine_ms(lab)
            print(f"{rtt:>5.0f} | {fmt(firsts):>22} | {fmt(dones):>18} | {fmt(verdicts):>18} | {engine:9.0f} ms | "
                  f"{os.getloadavg()[0]:.1f}")

        lab.set_rtt(0)
        time.sleep(1)
        rss_idle = rss_mib(proc.pid)
        if args.sessions:
            sessions = [open_home(browser, base) for _ in range(args.sessions)]
            time.sleep(2)
            rss_open = rss_mib(proc.pid)
            for i, (_, page) in enumerate(sessions):
                fill_and_enter(page, lab, next(variants))
            time.sleep(2)
            rss_reports = rss_mib(proc.pid)
            print(f"\nStreamlit server RSS: {rss_start:.0f} MiB at start, {rss_idle:.0f} MiB after the timed runs, "
                  f"{rss_open:.0f} MiB with {args.sessions} sessions open, {rss_reports:.0f} MiB with "
                  f"{args.sessions} sessions each holding a report "
                  f"({(rss_reports - rss_idle) / args.sessions:.1f} MiB per session)")
        else:
            sessions = []
            print(f"\nStreamlit server RSS: {rss_start:.0f} MiB at start, {rss_idle:.0f} MiB after the timed runs")
        for context, _ in sessions:
            context.close()
        browser.close()


def _engine_ms(lab: Lab) -> float:
    """One run_check in this process at the same RTT, for comparison with the page."""
    os.environ.update(lab.env())
    from diagnostics.runner import run_check
    from diagnostics.target import parse

    from concurrent.futures import ThreadPoolExecutor

    def timed() -> float:
        target = parse(lab.info["canvas_url"])
        run_check(target, lab.options(), lab.policy())  # warm
        started = time.perf_counter()
        run_check(target, lab.options(), lab.policy())
        return (time.perf_counter() - started) * 1000

    with ThreadPoolExecutor(1) as pool:  # Playwright's sync API owns this thread's event loop
        return pool.submit(timed).result()


if __name__ == "__main__":
    main()
