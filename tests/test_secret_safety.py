"""The Developer Key secret leaves the process in one request body and nowhere else.

Not in a finding, evidence, extras or the report JSON; not in a URL the fake Canvas saw;
not in any log record at any level (httpx and httpcore included); not in exception text;
not on the CLI's stdout or stderr - whether Canvas says it is right, wrong, answers in
redirect form, echoes it back, the connection breaks, or our own code crashes.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import pytest

from diagnostics import keys
from diagnostics.checks import oauth
from diagnostics.runner import Options, run_check
from diagnostics.target import parse
from tests.lab.fake_canvas import FakeCanvas, _params

URI = "https://api.badgr.io/example/callback"


def assert_nowhere(secret: str, *texts: str) -> None:
    # the whole secret, and any 16-character piece of it (a partial echo is a leak too)
    pieces = {secret} | {secret[i:i + 16] for i in range(0, len(secret) - 15, 8)}
    for text in texts:
        for piece in pieces:
            assert piece not in text


def everything_logged(caplog) -> str:
    parts = []
    for record in caplog.records:
        parts.append(record.getMessage())
        parts.append(repr(record.args))
        if record.exc_info:
            parts.append(logging.Formatter().formatException(record.exc_info))
        if record.exc_text:
            parts.append(record.exc_text)
    return "\n".join(parts) + caplog.text


def _echo_token(h):
    """A broken proxy that echoes the posted form back, in the body and the redirect."""
    posted = "&".join(f"{k}={v}" for k, v in _params(h).items())
    h.answer(302, f"<html>you sent {posted}</html>",
             {"Location": f"{URI}?error=server_error&error_description={posted}", "Content-Type": "text/html"})


def _reset_token(h):
    h.close_connection = True
    h.connection.close()


def _secret_and_lab(canvas_lab, **canvas_kw):
    canvas = FakeCanvas(**canvas_kw)
    key = canvas.add_key(redirect_uri="https://api.badgr.io")
    return key, canvas_lab(canvas)


SCENARIOS = {
    "right": dict(),
    "wrong": dict(wrong=True),
    "redirect-form": dict(canvas=dict(token_errors_redirect=True)),
    "echoing-proxy": dict(canvas=dict(extra_routes={("POST", "/login/oauth2/token"): _echo_token})),
    "connection-reset": dict(canvas=dict(extra_routes={("POST", "/login/oauth2/token"): _reset_token})),
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_secret_in_no_report_log_or_url(canvas_lab, caplog, scenario):
    spec = SCENARIOS[scenario]
    key, lab = _secret_and_lab(canvas_lab, **spec.get("canvas", {}))
    secret = key.api_key[::-1] if spec.get("wrong") else key.api_key
    caplog.set_level(logging.DEBUG)
    options = Options(client_id=key.id, redirect_uri=URI, secret=secret)
    report = run_check(parse(lab.url), options, lab.policy())

    codes = report.codes()
    assert any(c.startswith("oauth.secret_") for c in codes), codes
    assert any(r.startswith("POST /login/oauth2/token") for r in lab.server.requests), "the secret was tested"
    assert_nowhere(secret, report.to_json(), repr(report), repr(options), str(options), "\n".join(lab.server.requests),
                   everything_logged(caplog), repr(options.cache_key()))
    if scenario == "echoing-proxy":
        f = report.finding("oauth.secret_not_checked")
        assert "[redacted]" in json.dumps(f.evidence)


def test_secret_in_no_text_when_our_code_crashes(canvas_lab, caplog, monkeypatch):
    key, lab = _secret_and_lab(canvas_lab)

    def broken(result):
        raise RuntimeError("reading went wrong")

    monkeypatch.setattr(oauth, "read_token_answer", broken)
    caplog.set_level(logging.DEBUG)
    report = run_check(parse(lab.url), Options(client_id=key.id, redirect_uri=URI, secret=key.api_key), lab.policy())
    crash = report.finding("internal.check_error")
    assert crash is not None and crash.evidence["error"] == "RuntimeError"
    assert_nowhere(key.api_key, report.to_json(), everything_logged(caplog))


@pytest.mark.parametrize("pasted", [
    "{s}",  # right, for contrast
    "{s20}",  # the hidden display
    "{s} {s}",  # pasted twice with a space
    "{s32} {s32b}",  # a space inside
    "{s}x",  # 65 characters
    "{s63}",  # one lost
    "{s}=",  # a stray character
])
def test_format_messages_never_repeat_the_secret(pasted):
    s = keys.normalise_secret("Ab3" * 22)[:64]
    text = pasted.format(s=s, s20=s[:20], s32=s[:32], s32b=s[32:], s63=s[:63])
    for problem in keys.check_secret(text):
        assert_nowhere(s[:20], problem.message)
        assert_nowhere(s, problem.message)


def test_options_repr_hides_the_secret():
    options = Options(client_id="10000000000001", secret="Z" * 64)
    assert "Z" * 16 not in repr(options) and "Z" * 16 not in repr(options.cache_key())


@pytest.mark.parametrize("as_json", [True, False], ids=["json", "text"])
@pytest.mark.parametrize("right", [True, False], ids=["right", "wrong"])
def test_cli_secret_stdin_never_printed(canvas_lab, as_json, right):
    key, lab = _secret_and_lab(canvas_lab, token_errors_redirect=True)
    secret = key.api_key if right else key.api_key[::-1]
    args = [sys.executable, "-m", "diagnostics", "check", lab.url, *lab.cli_args(), "--client-id", key.id,
            "--redirect-uri", URI, "--secret-stdin"] + (["--json"] if as_json else [])
    r = subprocess.run(args, capture_output=True, text=True, env=lab.env(), input=secret + "\n", timeout=60)
    assert r.returncode in (0, 1), r.stderr
    assert ("oauth.secret_ok" if right else "oauth.secret_invalid") in r.stdout
    assert_nowhere(secret, r.stdout, r.stderr, " ".join(args), "\n".join(lab.server.requests))
