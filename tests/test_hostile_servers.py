"""Hostile servers: every fault gives a clear finding within the run's deadline, and
memory stays bounded.

Each fault server (tests/lab/fx_faults.py, plus the four of tests/lab/fx_tls.py) is
checked by the real CLI in a process of its own, so that the peak resident memory of that
process (``VmHWM`` at exit) is the figure for that one fault. The probes run a few at
a time; each test then reads its own result. Memory bounds are outcomes: a gzip bomb that
was inflated, or a 100 MiB body that was held, would show in the figure whatever the
machine's speed. The only time bound is the run's own deadline contract ("a run has one
deadline and returns a report"), checked with generous slack on the report's own clock.

A few faults are also met in-process at the network layer, where the exact mechanism is
visible: no Accept-Encoding is sent and the raw gzip bytes come back; a 100 MiB body is
cut at 1 MiB; redirects stop at five and loops are named.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from diagnostics.checks import dns as dns_check
from diagnostics.checks import tls as tls_check
from diagnostics.model import Status
from diagnostics.net import MAX_BODY, MAX_REDIRECTS, BadResponse, Network, NetTimeout, RedirectRefused
from diagnostics.runner import CheckSpec, Options, run_async, run_check
from diagnostics.target import parse
from tests.lab.fx_faults import BOMB_INFLATED, BODY_100_MIB, SSH_BANNER, inflated_size
from tests.ssrf.figures import show

ROOT = Path(__file__).resolve().parents[1]
RSS_LIMIT_MB = 300
#: Deadline for faults that stall: short, so that the suite stays fast; the finding is
#: the same at 20 s.
STALL_DEADLINE = 3.0
QUICK_DEADLINE = 8.0
DEADLINE_SLACK = 3.0

#: The CLI, plus its own peak memory on stderr when it exits. VmHWM, not ru_maxrss: the
#: kernel folds the parent's peak (pytest's, at fork) into a child's ru_maxrss.
PROBE = textwrap.dedent("""
    import sys
    from diagnostics import cli
    try:
        code = cli.main(sys.argv[1:])
    finally:
        with open("/proc/self/status") as status:
            peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
        sys.stderr.write("\\nPEAK_RSS_KB=%s\\n" % peak)
    sys.exit(code)
""")


@dataclass(frozen=True)
class Fault:
    fixture: str
    codes: frozenset[str]  # one of these must be in the report, as a problem (or the pass named)
    deadline: float = QUICK_DEADLINE
    status: Status | None = None  # the status that code must have; None: fail, skip or warn


def fault(fixture: str, *codes: str, deadline: float = QUICK_DEADLINE, status: Status | None = None) -> Fault:
    return Fault(fixture, frozenset(codes), deadline, status)


FAULTS = [
    # TLS level
    fault("silent_server", "net.timeout", deadline=STALL_DEADLINE),
    fault("stall_after_hello_server", "net.timeout", deadline=STALL_DEADLINE),
    fault("trickle_tls_server", "net.timeout", deadline=STALL_DEADLINE),
    fault("reset_server", "tls.handshake_failed"),
    fault("reset_mid_handshake_server", "tls.handshake_failed"),
    fault("garbage_server", "tls.handshake_failed"),
    fault("plain_http_server", "tls.handshake_failed"),
    fault("ssh_banner_server", "tls.handshake_failed"),
    fault("malformed_cert_server", "tls.handshake_failed"),
    fault("non_der_cert_server", "tls.chain_invalid"),
    fault("oversized_cert_server", "tls.handshake_failed"),
    fault("many_sans_server", "tls.trusted", status=Status.PASS),
    # HTTP level
    fault("trickle_http_server", "net.timeout", "canvas.not_detected", deadline=STALL_DEADLINE),
    fault("endless_redirect_server", "canvas.not_detected"),
    fault("cyclic_redirect_server", "canvas.not_detected"),
    fault("huge_headers_server", "canvas.not_detected"),
    fault("huge_body_server", "canvas.not_detected"),
    fault("gzip_bomb_server", "canvas.not_detected"),
    fault("invalid_utf8_server", "canvas.detected", status=Status.PASS),
    fault("deep_json_server", "canvas.not_detected"),
    fault("huge_json_server", "canvas.not_detected"),
]
BASELINE = fault("good_server", "tls.trusted", status=Status.PASS)


@dataclass
class Probe:
    report: dict[str, Any] | None
    exit_code: int
    stderr: str
    rss_mb: float
    wall_s: float

    def codes(self) -> dict[str, str]:
        return {f["code"]: f["status"] for f in (self.report or {}).get("findings", [])}


def run_probe(lab, deadline: float) -> Probe:
    args = [sys.executable, "-c", PROBE, "check", lab.url, "--json", *lab.cli_args(), "--deadline", str(deadline)]
    started = time.monotonic()
    r = subprocess.run(args, capture_output=True, text=True, env=lab.env(), cwd=ROOT, timeout=deadline + 60)
    wall = time.monotonic() - started
    rss_kb = next((int(line.split("=", 1)[1]) for line in r.stderr.splitlines() if line.startswith("PEAK_RSS_KB=")), 0)
    try:
        report = json.loads(r.stdout)
    except ValueError:
        report = None
    return Probe(report, r.returncode, r.stderr, rss_kb / 1024, wall)


@pytest.fixture(scope="module")
def probes(request) -> dict[str, Probe]:
    """Every fault (and a healthy server for comparison) checked by the CLI, three at a time."""
    everything = [BASELINE, *FAULTS]
    labs = {f.fixture: request.getfixturevalue(f.fixture) for f in everything}
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {f.fixture: pool.submit(run_probe, labs[f.fixture], f.deadline) for f in everything}
        results = {name: fut.result() for name, fut in futures.items()}
    yield results
    survived = sum(1 for f in FAULTS if _survived(f, results[f.fixture]))
    worst = max(FAULTS, key=lambda f: results[f.fixture].rss_mb)
    lines = [f"{'fault':<28} {'finding':<24} {'exit':>4} {'run s':>6} {'peak MB':>8}"]
    for f in everything:
        p = results[f.fixture]
        found = next((c for c in sorted(f.codes) if c in p.codes()), "-")
        elapsed = (p.report or {}).get("elapsed_ms", 0) / 1000
        lines.append(f"{f.fixture:<28} {found:<24} {p.exit_code:>4} {elapsed:>6.2f} {p.rss_mb:>8.1f}")
    lines.append(f"fault servers survived: {survived}/{len(FAULTS)}; peak memory under the worst fault: "
                 f"{results[worst.fixture].rss_mb:.1f} MB ({worst.fixture}); healthy server: "
                 f"{results[BASELINE.fixture].rss_mb:.1f} MB; bound {RSS_LIMIT_MB} MB")
    show(request, "hostile servers", lines)


def _clear_finding(f: Fault, p: Probe) -> str | None:
    """None when the report names the fault clearly; else what is wrong."""
    if p.report is None:
        return f"no JSON report (exit {p.exit_code}): {p.stderr[-2000:]}"
    codes = p.codes()
    if "internal.check_error" in codes:
        return f"our own code crashed: {codes}"
    wanted = f.status.value if f.status else None
    hit = [c for c in f.codes if c in codes and (codes[c] == wanted if wanted else codes[c] in ("fail", "skip", "warn"))]
    if not hit:
        return f"none of {sorted(f.codes)} in {codes}"
    return None


def _survived(f: Fault, p: Probe) -> bool:
    return _clear_finding(f, p) is None and p.rss_mb < RSS_LIMIT_MB and p.exit_code in (0, 1)


@pytest.mark.parametrize("f", FAULTS, ids=[f.fixture for f in FAULTS])
def test_fault_gives_a_clear_finding_within_the_deadline(probes, f):
    p = probes[f.fixture]
    problem = _clear_finding(f, p)
    assert problem is None, problem
    assert p.exit_code in (0, 1) and "Traceback" not in p.stderr, p.stderr[-2000:]
    assert p.report["elapsed_ms"] <= (f.deadline + DEADLINE_SLACK) * 1000, p.report["elapsed_ms"]
    json.dumps(p.report, ensure_ascii=False).encode("utf-8")  # valid text, whatever the server sent


@pytest.mark.parametrize("f", [BASELINE, *FAULTS], ids=[f.fixture for f in [BASELINE, *FAULTS]])
def test_memory_stays_bounded(probes, f):
    p = probes[f.fixture]
    assert 0 < p.rss_mb < RSS_LIMIT_MB, f"{f.fixture}: peak {p.rss_mb:.1f} MB"


def test_details_name_what_the_server_did(probes):
    ssh = probes["ssh_banner_server"].report
    handshake = next(f for f in ssh["findings"] if f["code"] == "tls.handshake_failed")
    assert handshake["evidence"]["kind"] == "garbage"
    assert handshake["evidence"]["received"].startswith(SSH_BANNER[:16].decode())
    oversized = next(f for f in probes["oversized_cert_server"].report["findings"] if f["code"] == "tls.handshake_failed")
    assert "excessive message size" in oversized["detail"]
    headers = next(f for f in probes["huge_headers_server"].report["findings"] if f["code"] == "canvas.not_detected")
    assert "not valid HTTP" in headers["detail"]


def test_ten_thousand_names_keep_the_report_small(probes, many_sans_server):
    report = probes["many_sans_server"].report
    leaf = report["extras"]["tls"]["chain"][0]
    assert leaf["sans_total"] == many_sans_server.extra["sans"] and len(leaf["sans"]) <= 100
    assert len(json.dumps(report)) < 1024 * 1024


# ----------------------------------------------------------------------------- the network layer


def _fetch(lab, path: str = "/", **kw):
    async def go():
        net = Network(lab.policy())
        try:
            return await net.fetch(lab.url + path, **kw)
        finally:
            await net.aclose()

    return asyncio.run(go())


def test_a_gzip_bomb_is_never_inflated(gzip_bomb_server):
    stats = gzip_bomb_server.extra["stats"]
    seen = len(stats.requests)
    r = _fetch(gzip_bomb_server, "/api/v1/users/self", headers={"Accept": "application/json"})
    assert r.header("content-encoding") == "gzip"
    assert r.body[:2] == b"\x1f\x8b", "the body is the raw gzip bytes"
    assert len(r.body) <= MAX_BODY
    method, path, headers = stats.requests[seen]
    assert "accept-encoding" not in headers, headers
    # and it is a real bomb: those bytes inflate more than a thousandfold
    assert inflated_size(r.body, BOMB_INFLATED) > 1000 * len(r.body)


def test_a_100_mib_body_is_cut_at_the_cap(huge_body_server):
    r = _fetch(huge_body_server)
    assert r.truncated and len(r.body) == MAX_BODY
    assert huge_body_server.extra["stats"].bytes_sent < BODY_100_MIB


def test_endless_redirects_stop_after_five(endless_redirect_server):
    r = _fetch(endless_redirect_server, "/start", follow_redirects=50)
    assert len(r.history) == MAX_REDIRECTS and r.status == 302


def test_cyclic_redirects_are_named_a_loop(cyclic_redirect_server):
    with pytest.raises(RedirectRefused, match="loop"):
        _fetch(cyclic_redirect_server, "/a", follow_redirects=5)


def test_a_megabyte_of_headers_is_refused(huge_headers_server):
    with pytest.raises(BadResponse):
        _fetch(huge_headers_server)


def test_a_trickling_answer_times_out(trickle_http_server):
    with pytest.raises(NetTimeout):
        _fetch(trickle_http_server, timeout=1.5)


# ----------------------------------------------------------------------------- hostile JSON elsewhere

DEEP_JSON = b'{"error":' + b"[" * 100_000 + b"]" * 100_000 + b"}"


def _deep_json_route(h):
    h.answer(400, b"while(1);" + DEEP_JSON, {"Content-Type": "application/json"})


def test_deep_json_in_the_canvas_probe_is_not_our_crash(canvas_lab):
    from tests.lab.fake_canvas import FakeCanvas

    canvas = FakeCanvas()
    canvas.extra_routes[("GET", "/api/v1/users/self")] = _deep_json_route
    lab = canvas_lab(canvas)
    report = run_check(parse(lab.url), Options(), lab.policy())
    assert "internal.check_error" not in report.codes(), report.to_json()


def test_deep_json_from_the_oauth_endpoint_is_not_our_crash(canvas_lab):
    from tests.lab.fake_canvas import FakeCanvas

    canvas = FakeCanvas()
    canvas.extra_routes[("GET", "/login/oauth2/auth")] = _deep_json_route
    lab = canvas_lab(canvas)
    report = run_check(parse(lab.url), Options(client_id="10000000000001"), lab.policy())
    assert "internal.check_error" not in report.codes(), report.to_json()


def test_deep_json_from_the_jwks_endpoint_is_not_our_crash(canvas_lab):
    from tests.lab.fake_canvas import FakeCanvas

    canvas = FakeCanvas()
    canvas.extra_routes[("GET", "/api/lti/security/jwks")] = lambda h: h.answer(
        200, DEEP_JSON, {"Content-Type": "application/json"})
    lab = canvas_lab(canvas)
    report = run_check(parse(lab.url), Options(), lab.policy())
    assert "internal.check_error" not in report.codes(), report.to_json()


def test_malformed_certificate_in_process_is_the_servers_fault(non_der_cert_server):
    """The non-DER certificate used to crash the certificate step (cryptography refused it
    while the chain was read): it must be a finding about the server."""
    checks = (CheckSpec("dns", "address", dns_check.check, ("dns",)),
              CheckSpec("tls", "certificate", tls_check.check, ("tls",)))
    report = asyncio.run(run_async(parse(non_der_cert_server.url), Options(), non_der_cert_server.policy(),
                                   checks=checks))
    assert report.finding("tls.chain_invalid") is not None, report.to_json()
    assert "internal.check_error" not in report.codes()
