"""Time of ``explain()`` against the size of the paste, to show it grows linearly.

    .venv/bin/python bench/explain_bench.py [--runs 7] [--max-mib 10]

Three kinds of paste per size, from 1 KiB to 10 MiB:

- ``log``: a realistic server log (requests, JSON lines, HTML, a stack trace) with a
  Python TLS error and a Canvas OAuth error buried at the end;
- ``encoded``: the same log percent-encoded and JSON-escaped (every decoder has work);
- ``hostile``: a worst case found while testing (``%25`` repeated: every character is a
  percent escape the decoders undo twice).

For each it prints the median, min and max over the runs in ms, and ms per MiB: linear
growth shows as a flat ms/MiB column. ``--stages`` adds where the time of a 1 MiB paste
goes (redacting the paste, building the views - unwrap, decode, redact the decoded view -,
the rules, the extraction). Figures only; nothing here asserts.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import random
import statistics
import sys
import time
from urllib.parse import quote

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from diagnostics.explain import explain  # noqa: E402

KIB = 1024
MIB = 1024 * KIB

_LINES = (
    "2026-11-30T10:00:00Z INFO GET /api/v1/courses/123/assignments?page=2&per_page=50 200 12ms user=42",
    '127.0.0.1 - - [30/Nov/2026:10:00:01 +0000] "POST /login/oauth2/token HTTP/1.1" 400 85 "-" "python-requests/2.31"',
    '{"level":"warn","msg":"retrying","url":"https://canvas.northfield.edu/api/v1/users/self","attempt":2}',
    'Traceback (most recent call last):\n  File "/srv/app/sync.py", line 88, in run\n    resp = session.get(url, timeout=10)',
    "DEBUG token refresh scheduled in 3600s for user 42",
    '<div class="notice">Badges synced &amp; published for course 123</div>',
    "WARN slow query 812ms SELECT * FROM badges WHERE course_id = 123",
)
_ERRORS = (
    "requests.exceptions.SSLError: HTTPSConnectionPool(host='canvas.northfield.edu', port=443): Max retries exceeded "
    "(Caused by SSLError(SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
    "unable to get local issuer certificate (_ssl.c:1006)')))\n"
    'while(1);{"error":"invalid_request","error_description":"redirect_uri does not match client settings"}\n'
)


def _log(size: int) -> str:
    rng = random.Random(size)
    parts, total = [], 0
    while total < size:
        line = rng.choice(_LINES)
        parts.append(line)
        total += len(line) + 1
    return ("\n".join(parts))[: max(0, size - len(_ERRORS))] + _ERRORS


def _encoded(size: int) -> str:
    tail = json.dumps(quote(_ERRORS))
    body = json.dumps(quote(_log(size)))
    return body[: max(0, size - len(tail))] + tail


def _hostile(size: int) -> str:
    return ("%25" * (size // 3 + 1))[:size]


KINDS = {"log": _log, "encoded": _encoded, "hostile": _hostile}


def _sizes(max_mib: float) -> list[int]:
    sizes = [KIB, 10 * KIB, 100 * KIB, MIB, 2 * MIB, 5 * MIB, 10 * MIB]
    return [s for s in sizes if s <= max_mib * MIB]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7, help="runs per size (fewer are used above 1 MiB)")
    ap.add_argument("--max-mib", type=float, default=10.0, help="largest paste, in MiB")
    ap.add_argument("--stages", action="store_true", help="also time the stages of a 1 MiB paste")
    args = ap.parse_args()

    explain("warm up: load the rules and the catalog")
    print(f"{'kind':<8} {'size':>9} {'median ms':>10} {'min':>8} {'max':>8} {'ms/MiB':>8}  top code")
    for kind, make in KINDS.items():
        for size in _sizes(args.max_mib):
            text = make(size)
            runs = args.runs if size <= MIB else max(3, args.runs // 2)
            samples, top = [], None
            for _ in range(runs):
                start = time.perf_counter()
                result = explain(text)
                samples.append((time.perf_counter() - start) * 1000)
                top = result.top.code if result.top else "-"
            median = statistics.median(samples)
            label = f"{size // MIB} MiB" if size >= MIB else f"{size // KIB} KiB"
            print(f"{kind:<8} {label:>9} {median:10.1f} {min(samples):8.1f} {max(samples):8.1f} "
                  f"{median / (size / MIB):8.1f}  {top}")
        print()
    if args.stages:
        stages(args.runs)


def stages(runs: int) -> None:
    """Median ms of each stage of ``explain`` on 1 MiB (the same calls, in order)."""
    from diagnostics import _explain_extract, _explain_rules, _explain_unwrap
    from diagnostics.redact import redact

    def timed(fn, *a):
        samples, out = [], None
        for _ in range(runs):
            start = time.perf_counter()
            out = fn(*a)
            samples.append((time.perf_counter() - start) * 1000)
        return statistics.median(samples), out

    print(f"stages of a 1 MiB paste (median of {runs}, ms):")
    print(f"{'kind':<8} {'total':>6} {'redact':>7} {'views':>6} {'rules':>6} {'extract':>8}  (views: strip, "
          "normalise, decode, redact and normalise the decoded text)")
    for kind, make in KINDS.items():
        text = make(MIB)
        total, _ = timed(explain, text)
        raw, _ = _explain_unwrap.prepare(text)
        red_ms, redacted = timed(redact, raw)
        views_ms, views = timed(_explain_unwrap.views, redacted)
        rules_ms, _ = timed(_explain_rules.find_hits, views)
        extract_ms, _ = timed(_explain_extract.extract, views)
        print(f"{kind:<8} {total:6.0f} {red_ms:7.0f} {views_ms:6.0f} {rules_ms:6.0f} {extract_ms:8.0f}  "
              f"({len(views)} view{'s' if len(views) != 1 else ''})")


if __name__ == "__main__":
    main()
