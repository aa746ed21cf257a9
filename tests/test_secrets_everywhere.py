"""One known Developer Key secret through every flow, and then looked for everywhere.

``test_secret_safety.py`` covers the engine's OAuth step in depth (right, wrong, echoed,
reset, our own crash) and the CLI in a subprocess. This module adds the flows around it
and the places a secret could stay behind:

- the CLI in-process (stdout, stderr, every log record), the engine report saved as a
  snapshot (the SQLite file's bytes, WAL included), the Request page built and left
  (page output, query parameters, the prefilled form link, the .json record,
  ``st.session_state`` after leaving), the explainer given a paste that contains the
  secret (its JSON, the Explain page and its session state), and the messages of every
  exception the request model raises.

Log records are captured at DEBUG from every logger, Streamlit's included.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import pickle
from pathlib import Path

import pytest

from diagnostics import cli, explain as explain_mod, keys, request as rq
from diagnostics.runner import Options, run_check
from diagnostics.store import SnapshotStore
from diagnostics.target import parse
from tests.lab.fake_canvas import FakeCanvas, new_api_key
from tests.test_portal_pages import app, no_exception
from tests.test_secret_safety import assert_nowhere

URI = "https://api.badgr.io/example/callback"


# ----------------------------------------------------------------------------- capture


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.texts.append(record.getMessage())
        self.texts.append(repr(record.args))
        self.texts.append(repr(getattr(record, "__dict__", {})))
        if record.exc_info:
            self.texts.append(logging.Formatter().formatException(record.exc_info))
        if record.exc_text:
            self.texts.append(record.exc_text)


@pytest.fixture
def all_logs():
    """Every record from every logger at DEBUG (Streamlit's loggers do not propagate)."""
    handler = _Collect()
    loggers = [logging.getLogger()] + [logging.getLogger(n) for n in list(logging.root.manager.loggerDict)]
    saved = [(lg, lg.level) for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        for lg, level in saved:
            lg.removeHandler(handler)
            lg.setLevel(level)


def logged(handler: _Collect) -> str:
    return "\n".join(handler.texts)


def page_output(at, skip_keys: tuple[str, ...] = ()) -> str:
    """Every element's protobuf as text (what the browser would receive), except the
    widgets named in ``skip_keys`` (the password field itself holds the secret)."""
    parts: list[str] = []

    def walk(node) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None and getattr(node, "key", None) not in skip_keys:
            parts.append(str(proto))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return "\n".join(parts)


def session_dump(at) -> str:
    parts = []
    for k, v in at.session_state.items():
        parts.append(f"{k}={v!r}")
        with contextlib.suppress(Exception):
            parts.append(pickle.dumps(v).decode("latin-1"))
    return "\n".join(parts)


def store_bytes(path: Path) -> str:
    """The SQLite file and its -wal/-shm companions, as text to search."""
    return "\n".join(p.read_bytes().decode("latin-1") for p in sorted(path.parent.glob(path.name + "*")))


@pytest.fixture
def canvas_with_key(canvas_lab):
    canvas = FakeCanvas()
    key = canvas.add_key(redirect_uri="https://api.badgr.io")
    return key, canvas_lab(canvas)


# ----------------------------------------------------------------------------- CLI and engine


def test_cli_check_with_secret_in_process(canvas_with_key, all_logs, monkeypatch, capsys):
    key, lab = canvas_with_key
    monkeypatch.setenv("CONNECT_CHECK_PORTS", "any")
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err):
        code = cli.main(["check", lab.url, *lab.cli_args(), "--client-id", key.id, "--redirect-uri", URI,
                         "--secret-stdin", "--json"], stdin=io.StringIO(key.api_key + "\n"), stdout=out)
    assert code in (0, 1), err.getvalue()
    report = json.loads(out.getvalue())
    assert "oauth.secret_ok" in [f["code"] for f in report["findings"]]
    captured = capsys.readouterr()
    assert_nowhere(key.api_key, out.getvalue(), err.getvalue(), captured.out, captured.err, logged(all_logs),
                   "\n".join(lab.server.requests))


def test_engine_report_and_snapshot_carry_no_secret(canvas_with_key, all_logs, tmp_path):
    key, lab = canvas_with_key
    options = Options(client_id=key.id, redirect_uri=URI, secret=key.api_key)
    report = run_check(parse(lab.url), options, lab.policy())
    assert report.finding("oauth.secret_ok") is not None
    data = report.to_dict()

    db = tmp_path / "snapshots" / "reports.sqlite3"
    store = SnapshotStore(db)
    # A careless caller hands the secret over in every way a dict can carry it.
    snap = store.save(data, meta={"params": {"url": lab.url, "client_id": key.id}, "secret": key.api_key,
                                  "client_secret": key.api_key, "note": f"key was {key.api_key}",
                                  "paste": f'{{"client_secret":"{key.api_key}"}}'})
    loaded = store.load(snap.id)
    assert loaded is not None and loaded.report["target"]["origin"] == report.target.origin
    assert_nowhere(key.api_key, report.to_json(), json.dumps(data), repr(report), repr(options), str(options),
                   store_bytes(db), json.dumps(loaded.report), json.dumps(loaded.meta), logged(all_logs))


def test_request_model_exceptions_and_links_carry_no_secret():
    secret = new_api_key()
    bad = rq.AccessRequest(kind=rq.SELF_HOSTED, canvas_url="https://canvas.uni.edu", region="us",
                           client_id="10000000000003", secret=secret[:63] + "!")
    messages = []
    for render in (rq.render_email, rq.to_json, rq.mailto_link, rq.eml_bytes):
        with pytest.raises(rq.InvalidRequest) as info:
            render(bad, None, True)
        messages += [str(info.value), repr(info.value), json.dumps(info.value.errors)]
    v = rq.validate(bad, None, True)
    good = rq.AccessRequest(kind=rq.SELF_HOSTED, canvas_url="https://canvas.uni.edu", region="us",
                            client_id="10000000000003", secret=secret, contact_name="Ana",
                            contact_email="ana@uni.edu", institution="Uni")
    assert rq.validate(good, None, True).ok
    assert_nowhere(secret, *messages, json.dumps(v.errors), json.dumps(v.warnings), repr(bad), repr(good),
                   rq.form_link("https://portal.example/request", good), rq.to_json(good, None, False))
    for problem in keys.check_secret(secret[:40]):
        assert_nowhere(secret[:40], problem.message)


# ----------------------------------------------------------------------------- explain


def test_explain_redacts_the_secret(all_logs):
    secret = new_api_key()
    paste = (f'POST /login/oauth2/token client_id=10000000000003&client_secret={secret}\n'
             f'{{"error":"invalid_client","error_description":"unknown client", "client_secret":"{secret}"}}\n'
             f"Authorization: Bearer {secret}\n{secret}")
    result = explain_mod.explain(paste)
    assert result.matches, "the paste is still explained"
    text = json.dumps(result.to_dict()) + explain_mod.render_text(result)
    out = io.StringIO()
    with contextlib.redirect_stderr(io.StringIO()) as err:
        cli.main(["explain", "-", "--json"], stdin=io.StringIO(paste), stdout=out)
    assert_nowhere(secret, text, out.getvalue(), err.getvalue(), logged(all_logs))


def test_explain_page_forgets_the_raw_paste(monkeypatch, tmp_path, all_logs):
    secret = new_api_key()
    at = app(monkeypatch, tmp_path)
    at.run()
    at.switch_page("pages/explain.py").run()
    at.text_area(key="explain_text").input(f'{{"error":"invalid_client","client_secret":"{secret}"}}')
    next(b for b in at.button if b.label == "Explain").click().run()
    no_exception(at)
    assert at.session_state["explain_result"]["matches"]
    assert "[redacted]" in page_output(at)
    assert_nowhere(secret, page_output(at), session_dump(at), json.dumps(dict(at.query_params)), logged(all_logs))
    at.switch_page("pages/check.py").run()
    no_exception(at)
    assert_nowhere(secret, page_output(at), session_dump(at), json.dumps(dict(at.query_params)))


# ----------------------------------------------------------------------------- the request page


def _fill_self_hosted(at, secret: str, choice: str) -> None:
    at.radio(key="request_kind").set_value(rq.SELF_HOSTED).run()
    at.text_input(key="request_canvas_url").input("https://canvas.uni.edu")
    at.text_input(key="request_client_id").input("10000000000003")
    at.text_input(key="request_secret").input(secret)
    at.radio(key="request_secret_choice").set_value(choice)
    at.text_input(key="request_redirect_uri").input(URI)
    at.radio(key="request_region").set_value("us")
    at.text_input(key="request_contact_name").input("Ana Díaz")
    at.text_input(key="request_contact_email").input("ana@uni.edu")
    at.text_input(key="request_institution").input("Uni")
    next(b for b in at.button if b.label == "Build the request").click().run()
    no_exception(at)


@pytest.mark.parametrize("choice", ["separately", "include"])
def test_request_page_built_then_left(monkeypatch, tmp_path, all_logs, choice):
    secret = new_api_key()
    at = app(monkeypatch, tmp_path)
    at.query_params["secret"] = secret  # a crafted link trying to plant it in the address bar
    at.run()
    at.switch_page("pages/request.py").run()
    no_exception(at)
    _fill_self_hosted(at, secret, choice)
    assert any("Your request is ready" in s.value for s in at.success), [e.value for e in at.error]
    output = page_output(at, skip_keys=("request_secret",))
    [form_link] = [c.value for c in at.code if "/request?" in c.value]
    if choice == "separately":
        assert_nowhere(secret, output)
    else:
        assert secret in "\n".join(c.value for c in at.code), "the admin asked for it in the email"
    assert_nowhere(secret, form_link, json.dumps(dict(at.query_params)), logged(all_logs))

    assert secret in session_dump(at), "sanity: while on the page, its widget holds the secret"
    assert "Your request is ready" in output

    # Leave the page: the password widget's value goes with it.
    at.switch_page("pages/explain.py").run()
    no_exception(at)
    assert_nowhere(secret, session_dump(at), page_output(at), json.dumps(dict(at.query_params)), logged(all_logs))
