"""Batch checks for support: many Canvas URLs, bounded concurrency, one row each.

    text (CSV export or a pasted list) --parse_targets--> urls, errors
    urls --run_batch(concurrency=N)--> rows (input order) --write_csv / write_json

:func:`parse_targets` takes what support really has: a spreadsheet export (BOM, CRLF,
a header row, several columns, quoted cells), or a list pasted from an email (blank
lines, bullets, comments, duplicates). Lines that cannot be a Canvas address come back
as one-line errors with their line number; duplicates (the same origin) are kept once.

:func:`run_batch` runs ``runner.run_async`` for each URL, at most ``concurrency`` at a
time (an ``asyncio.Semaphore``). Each run gets its own event loop in a worker thread, so
one run's executor and deadline never touch another's; ``on_progress`` is called in the
caller's thread, so a page can move its progress bar from it.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import logging
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence, TextIO

from .model import Report, Status
from .net import NetPolicy
from .runner import Options, run_async
from .target import TargetError, parse

__all__ = ["COLUMNS", "MAX_TARGETS", "MAX_CONCURRENCY", "parse_targets", "run_batch", "write_csv", "write_json",
           "rows_to_csv"]

log = logging.getLogger(__name__)

#: Row keys in table order (the first five are the contract; the rest help support).
COLUMNS = ("url", "verdict", "hosting", "environment", "first_failing_code", "first_failing_title",
           "problems", "origin", "elapsed_ms", "error")
MAX_TARGETS = 500
MAX_CONCURRENCY = 50  # the CLI's documented ceiling

_HEADER_NAMES = {"url", "urls", "canvas", "canvas url", "canvas_url", "canvas-url", "host", "hostname", "domain",
                 "address", "site", "instance", "canvas instance", "lms url", "website"}
_CSV_ERROR = "\x00csv:"
_BULLET = re.compile(r"^\s*(?:[-*\u2022]|\d{1,4}[.)])\s+")

ProgressCallback = Callable[[int, int, dict[str, Any]], None]
#: ``gate(origin)`` -> None to go ahead, or the sentence saying why this target is skipped
#: (the portal's per-target rate limit); called once per URL, from worker threads.
Gate = Callable[[str], "str | None"]


def parse_targets(text: str, *, limit: int = MAX_TARGETS) -> tuple[list[str], list[str]]:
    """Canvas URLs from a CSV export or a pasted list -> (urls, errors).

    ``urls`` keeps each address as written (trimmed), first occurrence of each origin
    only, in input order. ``errors`` are sentences like ``line 4: 'ftp://x' - Only web
    addresses ... can be checked`` for people to fix their list.
    """
    if not isinstance(text, str):
        return [], ["The list is not text."]
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    delimiter = _sniff_delimiter(lines)
    column: int | None = None  # named by a header row; else the first cell that looks like an address
    urls: list[str] = []
    errors: list[str] = []
    seen: set[str] = set()
    first_row = True
    for number, cells in _rows(lines, delimiter):
        cells = [c.strip().lstrip("\ufeff") for c in cells]
        if cells and cells[0].startswith(_CSV_ERROR):
            errors.append(f"line {number}: the file stops being readable CSV here ({cells[0][len(_CSV_ERROR):]})")
            break
        if not any(cells) or cells[0].startswith("#"):
            continue
        if first_row:
            first_row = False
            names = [c.strip("\"' ").lower() for c in cells]
            if any(n in _HEADER_NAMES for n in names):
                column = next(i for i, n in enumerate(names) if n in _HEADER_NAMES)
                continue
            if not any("." in c for c in cells):  # "Name,Link": a header we do not know
                continue
        if column is not None:
            value = cells[column] if column < len(cells) else ""
        else:
            value = next((c for c in cells if "." in c), cells[0])
        value = _BULLET.sub("", value).strip()
        if not value:
            errors.append(f"line {number}: no address in this row")
            continue
        try:
            target = parse(value)
        except TargetError as exc:
            errors.append(f"line {number}: '{_short(value)}' - {exc}")
            continue
        if "." not in target.host:
            errors.append(f"line {number}: '{_short(value)}' - not a full Canvas address (it has no domain).")
            continue
        if target.origin in seen:
            continue  # a duplicate is not an error: the same server is checked once
        if len(urls) >= limit:
            errors.append(f"line {number}: only the first {limit} addresses are checked at once")
            break
        seen.add(target.origin)
        urls.append(value)
    return urls, errors


def _sniff_delimiter(lines: Sequence[str]) -> str | None:
    sample = [line for line in lines[:20] if line.strip()]
    for delimiter in (",", ";", "\t"):
        if sample and sum(delimiter in line for line in sample) >= max(1, len(sample) // 2):
            return delimiter
    return None


def _rows(lines: Sequence[str], delimiter: str | None) -> Iterable[tuple[int, list[str]]]:
    if delimiter is None:
        for i, line in enumerate(lines, 1):
            yield i, [line]
        return
    reader = csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter)
    try:
        for row in reader:
            yield reader.line_num, row
    except csv.Error as exc:
        # A broken quote swallows the rest; say so instead of guessing.
        yield reader.line_num, [_CSV_ERROR + str(exc)]


def _short(s: str) -> str:
    return s if len(s) <= 60 else s[:57] + "..."


# ----------------------------------------------------------------------------- running


def row_for(url: str, report: Report | None = None, error: str = "", verdict: str = "invalid") -> dict[str, Any]:
    """One table row: what support needs to triage an institution at a glance.

    Without a report the row carries ``verdict`` ("invalid" input, "rate_limited" when
    the portal's per-target limit skipped it, or "error" when
    Connect Check itself failed) and the reason in ``error``.
    """
    if report is None:
        return {"url": url, "verdict": verdict, "hosting": "", "environment": "",
                "first_failing_code": "", "first_failing_title": "", "problems": 0, "origin": "",
                "elapsed_ms": None, "error": error}
    # The most severe problem first (fail, then error); warnings only count in "problems".
    failing = next((f for f in report.problems() if f.status in (Status.FAIL, Status.ERROR)), None)
    return {
        "url": url,
        "verdict": report.verdict.value,
        "hosting": report.hosting.kind,
        "environment": report.hosting.environment or "",
        "first_failing_code": failing.code if failing else "",
        "first_failing_title": failing.title if failing else "",
        "problems": len(report.problems()),
        "origin": report.target.origin,
        "elapsed_ms": report.elapsed_ms,
        "error": "",
    }


def _run_one(url: str, options: Options, policy: NetPolicy | None, gate: Gate | None = None) -> dict[str, Any]:
    try:
        target = parse(url)
    except TargetError as exc:
        return row_for(url, error=str(exc))
    refusal = gate(target.origin) if gate is not None else None
    if refusal:
        return row_for(url, error=refusal, verdict="rate_limited")
    try:
        report = asyncio.run(run_async(target, options, policy))
    except Exception as exc:  # our bug: one bad row must not lose the batch
        log.exception("batch check of %s crashed", target.origin)
        return row_for(url, error=f"Connect Check itself failed on this address ({type(exc).__name__}).",
                       verdict="error")
    return row_for(url, report)


async def _run_all(urls: Sequence[str], concurrency: int, options: Options, policy: NetPolicy | None,
                   on_progress: ProgressCallback | None, gate: Gate | None = None) -> list[dict[str, Any]]:
    semaphore = asyncio.Semaphore(concurrency)
    loop = asyncio.get_running_loop()
    rows: list[dict[str, Any] | None] = [None] * len(urls)
    done = 0
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="connect-check-batch") as pool:

        async def one(i: int, url: str) -> None:
            nonlocal done
            async with semaphore:
                rows[i] = await loop.run_in_executor(pool, _run_one, url, options, policy, gate)
            done += 1
            if on_progress is not None:
                try:
                    on_progress(done, len(urls), rows[i])  # type: ignore[arg-type]
                except Exception:  # a progress bar's bug must not stop the batch
                    log.exception("batch progress callback failed")

        await asyncio.gather(*(one(i, u) for i, u in enumerate(urls)))
    return [r for r in rows if r is not None]


def run_batch(
    urls: Sequence[str],
    concurrency: int = 4,
    policy: NetPolicy | None = None,
    options: Options | None = None,
    on_progress: ProgressCallback | None = None,
    gate: Gate | None = None,
) -> list[dict[str, Any]]:
    """Check every URL (at most ``concurrency`` at once, never more than
    :data:`MAX_CONCURRENCY`); rows in input order.

    Never raises for a URL's sake: unusable input gives a row with verdict ``invalid``
    and the reason in ``error``; a URL ``gate`` refuses gives verdict ``rate_limited``
    and is not contacted. ``on_progress(done, total, row)`` runs in this thread.
    """
    urls = list(urls)
    if not urls:
        return []
    concurrency = max(1, min(int(concurrency), MAX_CONCURRENCY, len(urls)))
    options = options or Options()
    policy = policy or NetPolicy.from_env()
    return asyncio.run(_run_all(urls, concurrency, options, policy, on_progress, gate))


# ----------------------------------------------------------------------------- output


def rows_to_csv(rows: Sequence[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(COLUMNS), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(row.get(k)) for k in COLUMNS})
    return buffer.getvalue()


def _cell(value: Any) -> Any:
    """Empty for None; text that a spreadsheet would run as a formula is quoted."""
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _write(text: str, target: str | Path | TextIO) -> None:
    if hasattr(target, "write"):
        target.write(text)  # type: ignore[union-attr]
    else:
        Path(target).write_text(text, encoding="utf-8")  # type: ignore[arg-type]


def write_csv(rows: Sequence[dict[str, Any]], target: str | Path | TextIO) -> None:
    """The table as CSV, to a path or an open text stream (stdout)."""
    _write(rows_to_csv(rows), target)


def write_json(rows: Sequence[dict[str, Any]], target: str | Path | TextIO) -> None:
    """The rows as a JSON list, to a path or an open text stream."""
    _write(json.dumps(list(rows), indent=2, ensure_ascii=False) + "\n", target)
