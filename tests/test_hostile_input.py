"""Hostile input at every public entry point: each raises only its own documented error.

| entry point                         | documented behaviour                                   |
|-------------------------------------|--------------------------------------------------------|
| ``target.parse``                    | a Target, or ``TargetError`` (one sentence)            |
| ``explain.explain``                 | never raises; not even its internal-error fallback     |
| ``request.validate``                | never raises; renderers raise only ``InvalidRequest``  |
| ``share.ShareParams.from_query``    | never raises; allow-listed keys, capped clean values   |
| ``share.parse_report_id``           | an id of the documented shape, or None                 |
| ``store.SnapshotStore.load``        | the snapshot with exactly that id, or None             |
| ``batch.parse_targets``             | never raises; (urls, errors), at most ``limit`` urls   |

Then the pages: pasted Markdown/HTML/JS on the Explain page shows up only in code
elements, and crafted share links (``?url=javascript:...``, Markdown, HTML, overlong,
``report=../`` and other people's ids) inject nothing and open no other snapshot.
The number of fuzz examples run is printed at the end of the module.
"""

from __future__ import annotations

import json
import re
import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from diagnostics import batch, explain as explain_mod, request as rq, share, store
from diagnostics.target import MAX_INPUT, Target, TargetError, parse
from tests.ssrf.figures import show

ROOT = Path(__file__).resolve().parent.parent
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
COUNT = {"examples": 0}


def _ran() -> None:
    COUNT["examples"] += 1


@pytest.fixture(scope="module", autouse=True)
def fuzz_figures(request):
    yield
    show(request, "Hostile input", [f"fuzz examples run: {COUNT['examples']}"])


# ----------------------------------------------------------------------------- strategies

_PIECES = ["https://", "http://", "javascript:", "data:text/html,", "file:///", "//", "\\\\", "@", ":", "::", "[",
           "]", "%00", "%2f", "%40", "?", "#", "/", ".", "..", "0x7f", "127.0.0.1", "2130706433", "0177.1",
           "[::ffff:127.0.0.1]", "myschool.instructure.com", "canvas.example.edu", "xn--", "ｃａｎｖａｓ", "。",
           "\u200b", "\u202e", "\r\n", "\t", " ", "'", '"', "<script>alert(1)</script>", "[x](javascript:alert(1))",
           "**bold**", "`", "<img src=x onerror=alert(1)>", "user:pass@", ":443", ":99999", ":-1", "\x00", "\x7f",
           "a" * 70, "é", "\U0001f600", "{{7*7}}", "${jndi:ldap://x}", "../", "%2e%2e/"]
hostile_text = st.one_of(
    st.text(max_size=300),
    st.lists(st.sampled_from(_PIECES), max_size=12).map("".join),
    st.binary(max_size=300).map(lambda b: b.decode("latin-1")),
    st.text(alphabet=string.printable, max_size=MAX_INPUT + 50),
)
values = st.one_of(st.none(), st.integers(), st.floats(allow_nan=True), st.binary(max_size=40), hostile_text,
                   st.lists(hostile_text, max_size=3))


# ----------------------------------------------------------------------------- target.parse


@FUZZ
@given(values)
def test_parse_raises_only_target_error(value):
    _ran()
    try:
        t = parse(value)
    except TargetError as exc:
        text = str(exc)
        assert text and "\n" not in text and len(text) < 400
        return
    assert isinstance(t, Target)
    assert re.fullmatch(r"[a-z0-9.-]{1,253}", t.host), t.host
    assert 1 <= t.port <= 65535
    assert t.origin.startswith("https://")


# ----------------------------------------------------------------------------- explain


@FUZZ
@given(st.one_of(values, st.lists(st.sampled_from(_PIECES + ["redirect_uri does not match client settings",
                                                              "invalid_client", "Bearer abc.def.ghi",
                                                              "login_hint=12345", '{"error":'])
                                  , max_size=20).map(" ".join)))
def test_explain_never_raises_and_never_hits_its_fallback(value):
    _ran()
    result = explain_mod.explain(value)
    assert result.next_steps != explain_mod.INTERNAL_ERROR_STEPS, f"explainer crashed on {value!r}"
    json.dumps(result.to_dict())


def test_explain_huge_and_binary_pastes():
    _ran()
    for paste in ("x" * (2 * 1024 * 1024), "\x00\xff" * 50_000, "\n" * 100_000, "{" * 50_000, "[" * 50_000):
        result = explain_mod.explain(paste)
        assert result.next_steps != explain_mod.INTERNAL_ERROR_STEPS


# ----------------------------------------------------------------------------- request validation

request_text = st.one_of(hostile_text, st.sampled_from(["", "https://canvas.example.edu", "myschool.instructure.com",
                                                          "10000000000003", "us", "eu", "ana@myschool.edu", "A" * 64]))


@FUZZ
@given(kind=st.one_of(st.sampled_from([rq.HOSTED, rq.SELF_HOSTED]), hostile_text),
       canvas_url=request_text, region=request_text, name=request_text, email=request_text,
       institution=request_text, environment=st.one_of(st.sampled_from(rq.ENVIRONMENTS), hostile_text),
       client_id=request_text, secret=request_text, redirect_uri=request_text, notes=request_text,
       include_secret=st.booleans())
def test_request_validation_and_renderers(kind, canvas_url, region, name, email, institution, environment,
                                          client_id, secret, redirect_uri, notes, include_secret):
    _ran()
    req = rq.AccessRequest(kind=kind, canvas_url=canvas_url, region=region, contact_name=name, contact_email=email,
                           institution=institution, environment=environment, client_id=client_id, secret=secret,
                           redirect_uri=redirect_uri, notes=notes)
    v = rq.validate(req, None, include_secret)
    assert all(isinstance(m, str) and m for m in v.errors.values())
    for render in (lambda: rq.render_email(req, None, include_secret), lambda: rq.to_json(req, None),
                   lambda: rq.mailto_link(req, None, include_secret), lambda: rq.eml_bytes(req, None, include_secret)):
        if v.ok:
            render()
        else:
            with pytest.raises(rq.InvalidRequest):
                render()
    link = rq.form_link("https://portal.example/request", req)
    assert "secret" not in link.split("?", 1)[-1].lower()


@FUZZ
@given(st.dictionaries(st.one_of(st.sampled_from(["url", "client_id", "region", "env", "canvas_url_as_shown",
                                                   "secret", "report"]), hostile_text),
                       st.one_of(hostile_text, st.lists(hostile_text, max_size=3)), max_size=8))
def test_request_prefill_from_any_query(query):
    _ran()
    out = rq.prefill(query, None, None)
    assert set(out) <= {"kind", "canvas_url", "region", "environment", "client_id", "redirect_uri"}
    assert all(isinstance(v, str) and len(v) <= share.MAX_URL for v in out.values())


# ----------------------------------------------------------------------------- share links and ids


@FUZZ
@given(st.dictionaries(st.one_of(st.sampled_from(list(share.ALLOWED_KEYS) + ["secret", "report", "__proto__"]),
                                 hostile_text),
                       st.one_of(values, st.lists(hostile_text, max_size=3)), max_size=8))
def test_share_params_from_any_query(query):
    _ran()
    params = share.ShareParams.from_query(query)
    out = params.to_query()
    assert set(out) <= set(share.ALLOWED_KEYS)
    for value in out.values():
        assert len(value) <= share.MAX_URL
        assert not re.search(r"[\x00-\x1f\x7f]", value)
    assert params.region in ("", *share.REGIONS)
    assert params.client_id == "" or params.client_id.isdigit()
    link = share.build_link("https://portal.example/", params)
    assert link.startswith("https://portal.example/")
    assert "#" not in link and "\n" not in link


@FUZZ
@given(values)
def test_parse_report_id_is_shape_or_none(value):
    _ran()
    got = share.parse_report_id(value)
    assert got is None or share.REPORT_ID_RE.fullmatch(got)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    s = store.SnapshotStore(tmp_path_factory.mktemp("snapshots") / "reports.sqlite3")
    snap = s.save({"schema": 1, "target": {"input": "a.example.edu", "origin": "https://a.example.edu"}})
    return s, snap


@FUZZ
@given(values)
def test_store_load_returns_only_the_exact_id(saved, value):
    _ran()
    s, snap = saved
    got = s.load(value)
    assert got is None or (value == snap.id and got.id == snap.id)
    got = s.load(share.parse_report_id(value))
    assert got is None or got.id == snap.id == share.parse_report_id(value)


def test_near_miss_ids_open_nothing(saved):
    _ran()
    s, snap = saved
    near = [snap.id.upper(), snap.id.lower(), snap.id[:-1], snap.id + "A", snap.id[1:], f"{snap.id}'--",
            "' OR '1'='1", f"{snap.id[:20]}%", f"{snap.id[:20]}_", "../" + snap.id, snap.id + "/../x", "*",
            f"{snap.id} ", f"\u200b{snap.id}"]
    for candidate in near:
        if candidate == snap.id:
            continue
        assert s.load(candidate) is None, candidate


# ----------------------------------------------------------------------------- batch files


@FUZZ
@given(st.one_of(hostile_text, st.lists(st.one_of(hostile_text, st.sampled_from(
    ["url", "Canvas URL", "a.example.edu", "\ufeffurl", '"b.example.edu","x"', "c.example.edu;d"])), max_size=40)
    .map("\n".join), st.binary(max_size=2000).map(lambda b: b.decode("utf-8", errors="replace"))),
    st.integers(min_value=1, max_value=600))
def test_batch_parse_never_raises(text, limit):
    _ran()
    urls, errors = batch.parse_targets(text, limit=limit)
    assert len(urls) <= limit
    assert all(isinstance(e, str) and e.startswith(("line ", "The list")) for e in errors)
    for url in urls:
        parse(url)  # everything kept is a usable Canvas address


@pytest.mark.parametrize("name, text, expect_urls", [
    ("empty", "", 0),
    ("only-bom", "\ufeff", 0),
    ("blank-lines", "\n\r\n\n   \n", 0),
    ("bom-csv", "\ufeffurl,name\r\nhttps://a.example.edu,A\r\nb.example.edu,B\r\n", 2),
    ("bom-inside-cell", "\ufeff\ufeffCanvas URL;x\n\ufeffa.example.edu;1\n", 1),
    ("binary", bytes(range(256)).decode("latin-1") * 20, 0),
    ("nul-bytes", "a.example.edu\x00\nb.example.edu\n", 1),
    ("stray-quote", 'url\n"a.example.edu\nb.example.edu\n', 2),
    ("broken-quote-csv", 'url,x\n"a.example.edu,1\nb.example.edu,2\n', 0),
    ("formula", "=HYPERLINK(\"http://evil\")\n+cmd|' /C calc'!A0\n", 0),
], ids=lambda v: v if isinstance(v, str) and v.isascii() and v.replace("-", "").isalpha() else "")
def test_batch_files(name, text, expect_urls):
    _ran()
    urls, errors = batch.parse_targets(text)
    assert len(urls) == expect_urls, (urls, errors)


def test_batch_hundred_thousand_lines_is_capped():
    _ran()
    text = "url\n" + "\n".join(f"school{i}.example.edu" for i in range(100_000))
    urls, errors = batch.parse_targets(text)
    assert len(urls) == batch.MAX_TARGETS
    assert errors and "only the first" in errors[-1]
    urls, errors = batch.parse_targets("\n".join(["same.example.edu"] * 100_000))
    assert urls == ["same.example.edu"]


def test_batch_csv_output_never_starts_a_formula():
    _ran()
    rows = [batch.row_for(v, error=v) for v in ("=1+1", "+1", "-1", "@SUM(A1)", "\t=x", "ok.example.edu")]
    for line in batch.rows_to_csv(rows).splitlines()[1:]:
        for cell in line.split(","):
            assert not cell.lstrip('"').startswith(("=", "+", "-", "@", "\t")), line


# ----------------------------------------------------------------------------- the pages


from tests.test_portal_pages import app, no_exception  # noqa: E402 - shared AppTest set-up

PAYLOADS = {
    "html": "<script>alert('cc-xss')</script><img src=x onerror=alert(1)> invalid_client",
    "markdown": "# CC-HEADING\n[click me](javascript:alert(1)) **CC-BOLD** ![img](http://evil.example/x.png)",
    "js-url": "javascript:alert(document.cookie)//redirect_uri does not match client settings",
    "html-entities": "&lt;b&gt;CC-ENTITY&lt;/b&gt; <iframe src=//evil.example></iframe>",
    "latex-and-emoji": "$\\textcolor{red}{CC-LATEX}$ :red[CC-RED] :material/warning:",
}

_MARKDOWN_LIKE = ("markdown", "caption", "error", "warning", "info", "success", "title", "header", "subheader")


def _rendered_text(at) -> list[str]:
    """Every value Streamlit renders as Markdown (not code, not inputs)."""
    out = []
    for kind in _MARKDOWN_LIKE:
        for el in at.get(kind):
            out.append(str(getattr(el, "value", "") or getattr(getattr(el, "proto", None), "body", "")))
    return out


def _distinctive(payload: str) -> list[str]:
    return [m for m in re.findall(r"CC-[A-Z]+|<script|onerror|javascript:|<iframe|!\[img\]", payload)]


@pytest.mark.parametrize("kind", list(PAYLOADS))
def test_explain_page_shows_pastes_only_as_code(monkeypatch, tmp_path, kind):
    _ran()
    payload = PAYLOADS[kind]
    at = app(monkeypatch, tmp_path)
    at.run()
    at.switch_page("pages/explain.py").run()
    at.text_area(key="explain_text").input(payload)
    next(b for b in at.button if b.label == "Explain").click().run()
    no_exception(at)
    rendered = "\n".join(_rendered_text(at))
    for marker in _distinctive(payload):
        assert marker not in rendered, f"{marker!r} from the paste was rendered as Markdown"
    codes = "\n".join(c.value for c in at.code)
    assert any(marker in codes for marker in _distinctive(payload)), "the paste is shown back as code"


CRAFTED_LINKS = {
    "javascript": {"url": "javascript:alert(document.domain)"},
    "markdown": {"url": "[CC-LINK](https://evil.example)"},
    "html": {"url": "<img src=x onerror=alert(1)>.example.edu"},
    "overlong": {"url": "a" * 100_000 + ".example.edu"},
    "region-html": {"url": "", "region": "<b>eu</b>"},
    "client-markdown": {"url": "", "client_id": "**CC-BOLD**"},
    "report-traversal": {"report": "../../../../etc/passwd"},
    "report-sql": {"report": "' OR '1'='1"},
    "report-other": {"report": "A" * 24},
    "report-markdown": {"report": "[CC-LINK](javascript:alert(1))"},
}


@pytest.mark.parametrize("kind", list(CRAFTED_LINKS))
def test_crafted_share_links_inject_nothing(monkeypatch, tmp_path, kind):
    _ran()
    other = store.SnapshotStore(tmp_path / "reports.sqlite3").save(
        {"schema": 1, "target": {"input": "private.example.edu", "origin": "https://private.example.edu",
                                 "host": "private.example.edu", "port": 443},
         "started_at": "2026-12-04T10:00:00Z", "elapsed_ms": 1, "verdict": "ready",
         "hosting": {"kind": "unknown", "environment": None, "evidence": []}, "findings": []})
    at = app(monkeypatch, tmp_path, CONNECT_CHECK_DNS="127.0.0.1:9")
    for k, v in CRAFTED_LINKS[kind].items():
        at.query_params[k] = v
    at.run()
    no_exception(at)
    rendered = "\n".join(_rendered_text(at))
    assert "private.example.edu" not in rendered, "another snapshot was opened"
    # Shown back at most escaped (md_escape turns "-" into "\\-", "<" into "\\<" ...).
    for marker in ("CC-LINK", "CC-BOLD"):
        assert marker not in rendered, marker
    for markup in (r"(?<!\\)<(img|b|script|iframe)", r"(?<!\\)\]\((javascript|https://evil)", r"(?<!\\)\*\*CC"):
        assert not re.search(markup, rendered), markup
    assert "check_report" not in at.session_state, "a crafted link ran a check"
    assert other.id not in rendered


def test_no_page_renders_untrusted_html():
    _ran()
    # st.html / unsafe_allow_html only with our own constant (the noindex tag).
    for path in [*sorted((ROOT / "pages").glob("*.py")), *sorted((ROOT / "portal").glob("*.py"))]:
        text = path.read_text()
        assert "unsafe_allow_html=True" not in text, path
        for call in re.findall(r"st\.html\(([^)]*)\)", text):
            assert call.strip().split(",")[0].isupper() or call.strip().startswith(("NOINDEX", '"', "'")), (path, call)
