"""The engine end to end against lab servers: address, Canvas and hosting steps, the
runner's deadline and streaming, and the report contract."""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest

from diagnostics.model import Report, Status, Verdict
from diagnostics.runner import Options, run_check, stream_check
from diagnostics.target import parse
from tests.lab.fake_canvas import FakeCanvas


def check(lab, url=None, **policy_kw):
    return run_check(parse(url or lab.url), Options(), lab.policy(**policy_kw))


def statuses(report):
    return {f.code: f.status for f in report.findings}


def test_self_hosted_canvas_is_ready(canvas_lab):
    lab = canvas_lab(FakeCanvas(hosted=False))
    report = check(lab)
    s = statuses(report)
    assert s["dns.resolved"] == Status.PASS
    assert s["tls.trusted"] == Status.PASS
    assert s["canvas.detected"] == Status.PASS
    assert s["hosting.self_hosted"] == Status.INFO
    assert report.hosting.kind == "self_hosted" and report.hosting.environment is None
    assert report.verdict == Verdict.READY
    assert [f.code for f in report.problems()] == []
    assert "jwks" in report.extras["lti_platform"]["jwks_uri"]


@pytest.mark.parametrize("host, env", [
    ("myschool.instructure.com", "production"),
    ("myschool.beta.instructure.com", "beta"),
    ("myschool.test.instructure.com", "test"),
])
def test_hosted_by_name(canvas_lab, host, env):
    lab = canvas_lab(FakeCanvas(hosted=True, environment=env), host=host)
    report = check(lab)
    assert report.hosting.kind == "instructure" and report.hosting.environment == env
    assert report.finding("hosting.environment").evidence["environment"] == env
    platform = report.finding("hosting.lti_platform").evidence
    assert platform["issuer"] == {"production": "https://canvas.instructure.com",
                                  "beta": "https://canvas.beta.instructure.com",
                                  "test": "https://canvas.test.instructure.com"}[env]


def test_vanity_domain_recognised_by_headers(canvas_lab):
    lab = canvas_lab(FakeCanvas(hosted=True), host="canvas.university.lab.test")
    report = check(lab)
    assert report.hosting.kind == "instructure"
    assert any("cluster" in e for e in report.hosting.evidence)


def test_vanity_domain_recognised_by_cname(canvas_lab, lab_zone):
    lab = canvas_lab(FakeCanvas(hosted=False), host="lms.college.lab.test")
    lab_zone.cname["lms.college.lab.test"] = "college.beta.instructure.com"
    lab_zone.a["college.beta.instructure.com"] = ["127.0.0.1"]
    report = run_check(parse(lab.url), Options(), lab.policy(resolve={}))
    assert statuses(report)["dns.cname"] == Status.INFO
    assert report.hosting.kind == "instructure" and report.hosting.environment == "beta"


def test_not_canvas(canvas_lab):
    lab = canvas_lab(FakeCanvas(canvas_headers=False))
    report = check(lab)
    assert statuses(report)["canvas.not_detected"] == Status.FAIL
    assert report.hosting.kind == "not_canvas"
    assert report.verdict == Verdict.ACTION_NEEDED


def test_name_not_found(canvas_lab):
    lab = canvas_lab()
    report = run_check(parse("nowhere.lab.test"), Options(), lab.policy(resolve={}))
    assert statuses(report) == {"dns.not_found": Status.FAIL}
    assert report.verdict == Verdict.BLOCKED


def test_private_address_refused_without_connecting(canvas_lab):
    lab = canvas_lab()
    report = check(lab, allow_private=False)
    assert statuses(report) == {"net.private_address": Status.FAIL}
    assert report.finding("net.private_address").evidence["refused"] == "127.0.0.1"
    assert lab.server.requests == []


def test_port_outside_policy(canvas_lab):
    lab = canvas_lab()
    report = check(lab, ports=frozenset({443}))
    assert statuses(report) == {"net.port_not_allowed": Status.FAIL}
    assert lab.server.requests == []


def test_input_notes_become_findings(canvas_lab):
    lab = canvas_lab()
    report = check(lab, url=f"http://{lab.host}:{lab.port}/courses/1")
    s = statuses(report)
    assert s["input.http_upgraded"] == Status.INFO and s["input.path_ignored"] == Status.INFO
    assert report.target.origin == lab.url


def test_refused_port_is_connect_failed(canvas_lab):
    lab = canvas_lab()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"https://{lab.host}:{port}"
    report = run_check(parse(url), Options(), lab.policy(resolve={(lab.host, port): ("127.0.0.1",)}))
    assert statuses(report)["net.connect_failed"] == Status.FAIL
    assert report.verdict == Verdict.BLOCKED


def test_silent_server_ends_within_deadline(canvas_lab):
    lab = canvas_lab()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port = listener.getsockname()[1]
    held = []
    stop = threading.Event()

    def accept():
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    threading.Thread(target=accept, daemon=True).start()
    try:
        started = time.monotonic()
        report = run_check(parse(f"https://{lab.host}:{port}"), Options(),
                           lab.policy(resolve={(lab.host, port): ("127.0.0.1",)}, deadline=2.0))
        wall = time.monotonic() - started
    finally:
        stop.set()
        listener.close()
        for c in held:
            c.close()
    assert "net.timeout" in statuses(report)
    assert report.verdict == Verdict.BLOCKED
    assert wall < 2.0 + 1.0 + 2.0  # generous: the contract is deadline + 1 s; bench prints the real figure


def test_stream_yields_findings_then_report(canvas_lab):
    lab = canvas_lab()
    items = list(stream_check(parse(lab.url), Options(), lab.policy()))
    assert isinstance(items[-1], Report)
    streamed = [i.code for i in items[:-1]]
    assert streamed == items[-1].codes() and len(streamed) >= 4


def test_report_json_round_trip_and_contract(canvas_lab):
    lab = canvas_lab()
    report = check(lab)
    data = json.loads(report.to_json())
    assert data["schema"] == 1
    assert set(data) >= {"schema", "target", "started_at", "elapsed_ms", "verdict", "hosting", "findings"}
    assert data["target"] == {"input": lab.url, "origin": lab.url, "host": lab.host, "port": lab.port}
    for f in data["findings"]:
        assert set(f) >= {"code", "status", "title", "summary", "fix", "evidence", "elapsed_ms"}
        assert f["status"] in {"pass", "info", "warn", "fail", "skip", "error"}
    assert Report.from_json(report.to_json()).to_dict() == data


def test_a_crashing_check_becomes_an_error_finding(canvas_lab, caplog):
    from diagnostics.runner import CheckSpec, run_async
    import asyncio

    async def boom(ctx):
        raise RuntimeError("bug in our code")

    lab = canvas_lab()
    report = asyncio.run(run_async(parse(lab.url), Options(), lab.policy(), checks=[CheckSpec("boom", "canvas", boom)]))
    f = report.finding("internal.check_error")
    assert f.status == Status.ERROR and "bug in our code" not in json.dumps(f.to_dict())
    assert report.verdict == Verdict.ACTION_NEEDED
    assert "check boom crashed" in caplog.text
