"""Batch checks: lists as support really has them, bounded concurrency, rows in order."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import threading

import pytest

from diagnostics import batch, catalog
from diagnostics.batch import COLUMNS, parse_targets, rows_to_csv, run_batch, write_csv, write_json
from diagnostics.model import Hosting, Report, TargetInfo
from tests.lab.fake_canvas import FakeCanvas


@pytest.mark.parametrize("text, urls, n_errors", [
    ("a.example.edu\nb.example.edu\n", ["a.example.edu", "b.example.edu"], 0),
    ("\ufeffurl\r\nhttps://a.example.edu\r\n\r\nhttps://b.example.edu/courses/1\r\n", ["https://a.example.edu", "https://b.example.edu/courses/1"], 0),
    ("Institution,Canvas URL,Contact\nA,a.example.edu,x@y.z\nB,\"b.example.edu\",\n", ["a.example.edu", "b.example.edu"], 0),
    ("Name;Link\nA;a.example.edu\n", ["a.example.edu"], 0),
    ("host\tnote\na.example.edu\tfirst\n", ["a.example.edu"], 0),
    ("a.example.edu\nA.EXAMPLE.EDU/\nhttps://a.example.edu/x\nhttp://a.example.edu\n", ["a.example.edu"], 0),
    ("- a.example.edu\n* b.example.edu\n1. c.example.edu\n# a comment\n", ["a.example.edu", "b.example.edu", "c.example.edu"], 0),
    ("a.example.edu\nftp://b.example.edu\nnot an address\nlocalhost\nhttps://u:p@c.example.edu\n", ["a.example.edu"], 4),
    ("", [], 0),
    ("\n\n   \n", [], 0),
    ("School,https://a.example.edu\nOther,https://b.example.edu:8443\n", ["https://a.example.edu", "https://b.example.edu:8443"], 0),
], ids=["plain", "bom-crlf-header", "csv-columns", "semicolons-unknown-header", "tabs", "duplicates",
        "bullets-comments", "invalid-lines", "empty", "blank", "no-header-second-column"])
def test_parse_targets(text, urls, n_errors):
    got, errors = parse_targets(text)
    assert got == urls
    assert len(errors) == n_errors, errors


def test_errors_name_the_line():
    _, errors = parse_targets("a.example.edu\n\nftp://b.example.edu\n")
    assert errors and errors[0].startswith("line 3: 'ftp://b.example.edu' - ")


def test_limit():
    text = "\n".join(f"s{i}.example.edu" for i in range(10))
    urls, errors = parse_targets(text, limit=4)
    assert len(urls) == 4 and "only the first 4" in errors[-1]


def _fake_report(origin: str, codes: tuple[str, ...]) -> Report:
    host = origin.split("//")[1]
    return Report(TargetInfo(host, origin, host, 443), "2026-12-04T10:00:00Z", 5, Hosting("self_hosted"),
                  tuple(catalog.finding(c) for c in codes))


def test_concurrency_is_bounded_and_order_kept(monkeypatch):
    running = 0
    peak = 0
    lock = threading.Lock()

    async def fake_run_async(target, options=None, policy=None, on_finding=None, checks=None):
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        await asyncio.sleep(0.05)
        with lock:
            running -= 1
        codes = ("dns.resolved", "tls.expired") if target.host.startswith("s3.") else ("dns.resolved", "tls.trusted")
        return _fake_report(target.origin, codes)

    monkeypatch.setattr(batch, "run_async", fake_run_async)
    urls = [f"s{i}.example.edu" for i in range(10)] + ["ftp://bad.example.edu"]
    progress: list[tuple[int, int, str]] = []
    caller = threading.get_ident()
    threads: set[int] = set()

    def on_progress(done, total, row):
        threads.add(threading.get_ident())
        progress.append((done, total, row["url"]))

    rows = run_batch(urls, concurrency=3, on_progress=on_progress)
    assert peak <= 3 and peak >= 2
    assert [r["url"] for r in rows] == urls
    assert [p[0] for p in progress] == list(range(1, 12)) and {p[1] for p in progress} == {11}
    assert threads == {caller}  # a page can move its progress bar from the callback
    bad = rows[-1]
    assert bad["verdict"] == "invalid" and "ftp" in bad["error"]
    s3 = rows[3]
    assert (s3["verdict"], s3["first_failing_code"], s3["hosting"]) == ("blocked", "tls.expired", "self_hosted")
    assert rows[0]["verdict"] == "ready" and rows[0]["first_failing_code"] == ""
    assert list(rows[0]) == list(COLUMNS)


def test_a_crash_is_one_row_not_the_batch(monkeypatch):
    async def broken(target, *a, **k):
        raise RuntimeError("bug")

    monkeypatch.setattr(batch, "run_async", broken)
    rows = run_batch(["a.example.edu", "b.example.edu"], concurrency=2)
    assert [r["verdict"] for r in rows] == ["error", "error"]
    assert "Connect Check itself" in rows[0]["error"]


def test_empty_batch():
    assert run_batch([]) == []


def test_outputs(tmp_path):
    rows = [batch.row_for("=HYPERLINK(\"http://x\")", error="not an address"),
            batch.row_for("a.example.edu", _fake_report("https://a.example.edu", ("tls.self_signed",)))]
    write_csv(rows, tmp_path / "out.csv")
    with open(tmp_path / "out.csv", newline="") as fh:
        read = list(csv.DictReader(fh))
    assert list(read[0]) == list(COLUMNS)
    assert read[0]["url"].startswith("'=")  # never a live formula in a spreadsheet
    assert read[1]["first_failing_code"] == "tls.self_signed"
    write_json(rows, tmp_path / "out.json")
    assert json.loads((tmp_path / "out.json").read_text())[1]["verdict"] == "blocked"
    assert rows_to_csv([]).strip() == ",".join(COLUMNS)
    out = io.StringIO()
    write_csv(rows, out)  # the CLI writes to stdout
    assert out.getvalue() == (tmp_path / "out.csv").read_text()
    out = io.StringIO()
    write_json(rows, out)
    assert json.loads(out.getvalue())[0]["verdict"] == "invalid"


@pytest.mark.slow
def test_batch_against_the_lab(canvas_lab):
    hosted = canvas_lab(FakeCanvas(hosted=True), host="myschool.instructure.com")
    plain = canvas_lab(FakeCanvas(canvas_headers=False), host="www.college.lab.test")
    policy = hosted.policy(resolve={**hosted.server.resolve, **plain.server.resolve}, deadline=10)
    urls = [hosted.url, plain.url, "ftp://x.example.edu"]
    rows = run_batch(urls, concurrency=2, policy=policy)
    by_url = {r["url"]: r for r in rows}
    assert by_url[hosted.url]["hosting"] == "instructure"
    assert by_url[hosted.url]["environment"] == "production"
    assert by_url[hosted.url]["verdict"] == "ready"
    assert by_url[plain.url]["first_failing_code"] == "canvas.not_detected"
    assert by_url["ftp://x.example.edu"]["verdict"] == "invalid"
