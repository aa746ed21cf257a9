"""The explainer: a corpus of real pastes, the JSON contract, redaction, and hostile input.

The corpus (tests/data/explain_corpus.toml) is the specification: every paste names the
code that must rank first (or none), what must be extracted and which secrets must not
survive. Tests here never look at the clock; bench/explain_bench.py measures speed.
"""

from __future__ import annotations

import io
import json
import pathlib
import re
import tomllib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from diagnostics import _explain_extract, _explain_rules, _explain_unwrap, catalog, cli, redact as redact_mod
from diagnostics.explain import MIN_CONFIDENCE, Explanation, explain, render_text
from diagnostics.redact import REDACTED, redact

# The regex parser, to inspect patterns (Python 3.11+ keeps it private in re).
from re import _constants as sre_constants  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]

CORPUS_PATH = pathlib.Path(__file__).parent / "data" / "explain_corpus.toml"
CORPUS = tomllib.loads(CORPUS_PATH.read_text(encoding="utf-8"))["case"]
RULES, HINTS = _explain_rules.load()
RULE_CODES = sorted({r.code for r in RULES})


def _case_id(case):
    return case["id"]


def _output(expl: Explanation) -> str:
    return json.dumps(expl.to_dict(), ensure_ascii=False) + "\n" + render_text(expl)


# --------------------------------------------------------------------------- the corpus
@pytest.mark.parametrize("case", CORPUS, ids=_case_id)
def test_corpus(case):
    expl = explain(case["text"])
    codes = expl.codes()
    if case["top"]:
        assert codes, f"nothing recognised; expected {case['top']}"
        assert codes[0] == case["top"], f"ranked {[(m.code, m.confidence) for m in expl.matches]}"
        top = expl.matches[0]
        assert top.confidence >= case.get("min_confidence", MIN_CONFIDENCE)
        assert top.confidence <= case.get("max_confidence", 1.0)
        for code in case.get("possible", ()):
            assert code in top.possible_causes
        if top.possible_causes:
            assert top.live_check_hint
    else:
        assert codes == [], f"expected nothing, got {[(m.code, m.confidence) for m in expl.matches]}"
        assert expl.next_steps
    for code in case.get("also", ()):
        assert code in codes
    for code in case.get("absent", ()):
        assert code not in codes
    for key, expected in case.get("extracted", {}).items():
        assert expl.extracted[key] == (expected or None), key
    out = _output(expl)
    for secret in case.get("secrets", ()):
        assert secret not in out


def test_corpus_is_big_and_covers_every_code():
    assert len(CORPUS) >= 120
    ids = [c["id"] for c in CORPUS]
    assert len(ids) == len(set(ids))
    tops = [c["top"] for c in CORPUS]
    for code in RULE_CODES:
        assert tops.count(code) >= 2, f"{code} needs at least two phrasings in the corpus"
    assert tops.count("") >= 10, "near misses and unrelated text"
    assert sum(1 for c in CORPUS if c.get("also")) >= 4, "multi-error pastes"


def test_every_match_is_ranked_and_excerpted():
    for case in CORPUS:
        expl = explain(case["text"])
        confidences = [m.confidence for m in expl.matches]
        assert confidences == sorted(confidences, reverse=True)
        for m in expl.matches:
            assert MIN_CONFIDENCE <= m.confidence <= 1
            assert m.excerpt and len(m.excerpt) <= 400
            assert m.fix and m.owner in catalog.OWNERS


# --------------------------------------------------------------------------- one vocabulary
def test_rule_codes_and_causes_are_in_the_catalog():
    entries = catalog.load()
    for rule in RULES:
        assert rule.code in entries, rule.code
        for cause in rule.possible_causes:
            assert cause in entries, cause
        assert 0 < rule.confidence <= 1
        assert rule.context_confidence is None or rule.context_confidence > rule.confidence
        if rule.possible_causes:
            assert rule.hint in HINTS, f"ambiguous rule for {rule.code} needs a live check hint"


def test_live_check_and_paste_share_codes_and_words():
    expl = explain('{"error":"invalid_request","error_description":"redirect_uri does not match client settings"}')
    live = catalog.finding("oauth.redirect_uri_mismatch")
    top = expl.matches[0]
    assert (top.code, top.title, top.summary, top.fix, top.owner) == (live.code, live.title, live.summary, live.fix, live.owner)


def test_issuer_string_gives_incomplete_chain_with_untrusted_root_as_alternative():
    top = explain("unable to get local issuer certificate").matches[0]
    assert top.code == "tls.incomplete_chain"
    assert "tls.untrusted_root" in top.possible_causes
    assert "live check" in top.live_check_hint


def test_ambiguous_browser_code_points_to_the_live_check():
    top = explain("NET::ERR_CERT_AUTHORITY_INVALID").matches[0]
    assert top.code == "tls.not_trusted"
    assert set(top.possible_causes) >= {"tls.incomplete_chain", "tls.untrusted_root", "tls.self_signed"}
    assert "live check" in top.live_check_hint


def test_exact_canvas_string_outranks_vague_phrase():
    exact = explain("redirect_uri does not match client settings").matches[0].confidence
    vague = explain("redirect uri mismatch").matches[0].confidence
    assert exact >= 0.95 > 0.75 > vague >= MIN_CONFIDENCE


# --------------------------------------------------------------------------- the JSON contract
def test_to_dict_is_the_design_contract():
    data = explain("while(1);{\"error\":\"invalid_client\",\"error_description\":\"unknown client\"}").to_dict()
    assert set(data) == {"matches", "extracted", "redacted_text", "next_steps"}
    assert set(data["matches"][0]) == {
        "code", "confidence", "title", "summary", "fix", "owner", "excerpt", "possible_causes", "live_check_hint",
    }
    assert set(data["extracted"]) == {
        "canvas_url", "client_id", "redirect_uri", "error_report_id", "request_context_id", "canvas_url_as_shown",
    }
    assert json.loads(json.dumps(data)) == data


def test_unrecognised_paste_gets_friendly_next_steps():
    expl = explain("help with my grades")
    assert not expl.recognised and expl.top is None
    assert expl.matches == ()
    assert any("complete message" in s for s in expl.next_steps)
    assert "Not recognised" in render_text(expl)


def test_cli_prints_the_same_explanation(capsys):
    paste = "curl: (6) Could not resolve host: canvas.nowhere-college.edu"
    out = io.StringIO()
    assert cli.main(["explain", "-", "--json"], stdin=io.StringIO(paste), stdout=out) == 0
    assert json.loads(out.getvalue()) == explain(paste).to_dict()
    text = io.StringIO()
    assert cli.main(["explain", "-"], stdin=io.StringIO(paste), stdout=text) == 0
    assert text.getvalue() == render_text(explain(paste))


def test_render_text_lists_fix_owner_and_extracted_values():
    text = render_text(explain(
        "https://canvas.lakeside.edu/login/oauth2/auth?client_id=10000000000012&redirect_uri=https://badgr.com/cb "
        'while(1);{"error":"invalid_request","error_description":"redirect_uri does not match client settings"}'
    ))
    assert "oauth.redirect_uri_mismatch" in text and "Fix:" in text and "Canvas admin" in text
    assert "https://canvas.lakeside.edu" in text and "10000000000012" in text


def test_preauthorization_next_step_carries_the_url_as_shown():
    expl = explain("Badgr: this Canvas (https://MySchool.instructure.com/) has not been preauthorized.")
    assert expl.extracted["canvas_url_as_shown"] == "https://MySchool.instructure.com/"
    assert expl.extracted["canvas_url"] == "https://myschool.instructure.com"
    assert any("https://MySchool.instructure.com/" in s for s in expl.next_steps)


# --------------------------------------------------------------------------- redaction
SECRET64 = "Ih7yfJs1ON43xKmTecQoXsf2o3gyrDO1xkxwnQrS7RPeMOkIUpkDyr7OSJoRu1XX"
JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTYifQ.c2lnbmF0dXJlLXZhbHVl"


@pytest.mark.parametrize("text, secret", [
    (f"client_secret={SECRET64}", SECRET64),
    (f"client_secret%3D{SECRET64[:20]}", SECRET64[:20]),
    ('{"client_secret": "abc123def456"}', "abc123def456"),
    ('{\\"client_secret\\":\\"abc123def456\\"}', "abc123def456"),
    ("Client Secret: abc123def456", "abc123def456"),
    (f"the key is {SECRET64}.", SECRET64),
    (f"id_token={JWT}&state=1", JWT),
    (f"lti_message_hint={JWT}", "eyJzdWIiOiIxMjM0NTYifQ"),
    ("login_hint=535fa085f22b4655f48cd5a36a9215f64c062838&x=1", "535fa085f22b4655f48cd5a36a9215f64c062838"),
    ('"login_hint":"user-42-opaque"', "user-42-opaque"),
    ("Authorization: Bearer 7~abcdefghijklmnopqrstuvwxyz0123", "abcdefghijklmnopqrstuvwxyz0123"),
    ("-H 'Authorization: Bearer abcdefghijklmnop'", "abcdefghijklmnop"),
    ("token 7~GprQFnIiU74KKEpYEZAmggQBwBAD3UdRPPgdz", "GprQFnIiU74KKEpYEZAmggQBwBAD3UdRPPgdz"),
    ("Cookie: _normandy_session=s3ss10nV4lue; log_session_id=abc", "s3ss10nV4lue"),
    ("Set-Cookie: canvas_session=s3ss10nV4lue; path=/", "s3ss10nV4lue"),
    ("curl -b 'pseudonym_credentials=pc-value-123' https://x.edu", "pc-value-123"),
    ("https://badgr.com/cb?code=a1b2c3d4e5f6&state=9", "a1b2c3d4e5f6"),
    ("grant_type=authorization_code&code=a1b2c3d4e5f6", "a1b2c3d4e5f6"),
    ("X-Session-Id: 0f1e2d3c4b5a", "0f1e2d3c4b5a"),
    ('{"refresh_token":"7~zzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"}', "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"),
    ("password: hunter2", "hunter2"),
    ("-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkq\n-----END PRIVATE KEY-----", "MIIEvQIBADANBgkq"),
    (f"client_secret&#61;{SECRET64}", SECRET64),
    ("&quot;client_secret&quot;:&quot;abc123def456&quot;", "abc123def456"),
    ("next=%2Fcb%3Fpassword%22%3A%22hunter2%22", "hunter2"),
    ("state=1&login_hint%253Dopaque-user-99", "opaque-user-99"),
])
def test_redaction_removes_secrets(text, secret):
    out = redact(text)
    assert secret not in out
    assert REDACTED in out
    assert secret not in _output(explain(text))


@pytest.mark.parametrize("text", [
    '{"error":"invalid_client","error_description":"unknown client"}',
    '{"error":"invalid_request","error_description":"redirect_uri does not match client settings"}',
    "error=login_required&error_description=Must+have+an+active+user+session",
    '{"errors":[{"message":"Invalid access token."}],"error_report_id":8123456}',
    "code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'",
    "x509: cannot verify signature: insecure algorithm SHA1-RSA",
    'WWW-Authenticate: Bearer realm="canvas-lms"',
    "client_id=170000000000044&redirect_uri=https://badgr.com/auth/canvas/callback",
    "x-request-context-id: 5b0b2a9c-8f41-4b7e-9d0e-2f6d3c1a7e55",
    "refresh_token not found",
])
def test_redaction_keeps_what_explains(text):
    assert redact(text) == text


def test_certificates_are_public_and_kept():
    line = "A" * 64
    pem = f"-----BEGIN CERTIFICATE-----\n{line}\n{line}\n-----END CERTIFICATE-----"
    assert redact(pem) == pem
    assert redact(f"{pem}\nsecret {SECRET64}") == f"{pem}\nsecret {REDACTED}"


def test_redact_is_importable_from_both_modules():
    from diagnostics import explain as explain_mod

    assert explain_mod.redact is redact
    assert redact(None) == "" and redact("") == ""


def test_a_secret_only_decoding_reveals_stays_out_of_the_output():
    paste = ("https://badgr.com/cb?error=invalid_client&error_description=invalid+client"
             "&next=%2Fsettings%3Fapi_key%3D" + SECRET64[:40])
    expl = explain(paste)
    assert expl.top.code == "oauth.secret_invalid"
    assert SECRET64[:40] not in _output(expl)


def test_our_own_bug_is_not_blamed_on_the_paste(monkeypatch):
    def broken(views):
        raise RuntimeError("bug")

    monkeypatch.setattr("diagnostics._explain_rules.find_hits", broken)
    expl = explain(f"client_secret={SECRET64} unknown client")
    assert expl.matches == () and expl.redacted_text == ""
    assert "problem on our side" in expl.next_steps[0]
    assert SECRET64 not in _output(expl)


# --------------------------------------------------------------------------- linear-time patterns
def test_the_nesting_check_finds_nested_repeats():
    assert _nested_repeats(r"(a+)+") and _nested_repeats(r"(?:ab{0,3}){2,5}")
    assert not _nested_repeats(r"a{1,3}(?:b{2})?c*+")

def _nested_repeats(pattern: str) -> list[str]:
    """Repeats (with more than one iteration) inside repeats: the shape of catastrophic backtracking."""
    found = []
    repeat_ops = {sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT}
    if hasattr(sre_constants, "POSSESSIVE_REPEAT"):
        repeat_ops.add(sre_constants.POSSESSIVE_REPEAT)

    def walk(items, inside_repeat):
        for op, arg in items:
            if op in repeat_ops:
                lo, hi, sub = arg
                many = hi == sre_constants.MAXREPEAT or hi > 1
                if inside_repeat and many:
                    found.append(str(sub))
                walk(sub, inside_repeat or many)
            elif op == sre_constants.SUBPATTERN:
                walk(arg[-1], inside_repeat)
            elif op == sre_constants.BRANCH:
                for branch in arg[1]:
                    walk(branch, inside_repeat)
            elif op in (sre_constants.ASSERT, sre_constants.ASSERT_NOT):
                walk(arg[1], inside_repeat)
            elif hasattr(sre_constants, "ATOMIC_GROUP") and op == sre_constants.ATOMIC_GROUP:
                walk(arg, inside_repeat)

    walk(sre_parse.parse(pattern), False)
    return found


def _all_patterns() -> list[re.Pattern[str]]:
    patterns = list(redact_mod.PATTERNS)
    patterns += [r.pattern for r in RULES if r.pattern is not None]
    patterns += [v for v in vars(_explain_extract).values() if isinstance(v, re.Pattern)]
    patterns += [v for v in vars(_explain_unwrap).values() if isinstance(v, re.Pattern)]
    return patterns


@pytest.mark.parametrize("pattern", _all_patterns(), ids=lambda p: p.pattern[:40])
def test_no_pattern_nests_repeats(pattern):
    assert not _nested_repeats(pattern.pattern)


# --------------------------------------------------------------------------- hostile input
ADVERSARIAL_CHARS = list("a0<>{}[]()%+&\\\"'=:;~.-_ \n\t/@#") + ["eyJ", "%25", "&#", "\\u00", "while(1);", "\u0130", "\ud800"]


@st.composite
def adversarial(draw):
    kind = draw(st.sampled_from(["run", "nested", "mix", "anchors"]))
    if kind == "run":
        return draw(st.sampled_from(ADVERSARIAL_CHARS)) * draw(st.integers(1, 60_000))
    if kind == "nested":
        opener, closer = draw(st.sampled_from([("[", "]"), ("{", "}"), ("(", ")"), ('{"a":', "}"), ("<b>", "</b>"), ("[[", "]]")]))
        depth = draw(st.integers(1, 20_000))
        return opener * depth + draw(st.text(max_size=20)) + closer * depth
    if kind == "mix":
        return "".join(draw(st.lists(st.sampled_from(ADVERSARIAL_CHARS), max_size=400))) * draw(st.integers(1, 50))
    phrases = [r.anchors[0].phrase for r in RULES]
    return " ".join(draw(st.lists(st.sampled_from(phrases), min_size=1, max_size=30))) * draw(st.integers(1, 30))


def _check_total(value):
    expl = explain(value)
    assert isinstance(expl, Explanation)
    json.dumps(expl.to_dict())
    render_text(expl).encode("utf-8")
    assert all(m.confidence >= MIN_CONFIDENCE for m in expl.matches)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.text(max_size=3000))
def test_any_text_is_explained(text):
    _check_total(text)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.binary(max_size=3000))
def test_binary_junk_is_explained(data):
    _check_total(data)
    _check_total(data.decode("latin-1"))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(adversarial())
def test_adversarial_input_is_explained(text):
    _check_total(text)
    assert isinstance(redact(text), str)


@pytest.mark.parametrize("value", [None, b"", b"\xff\xfe\x00junk", 12345, "\x00" * 100, "\ud800 lone surrogate", "İ" * 100])
def test_odd_values_are_explained(value):
    _check_total(value)


HOSTILE_UNITS = [
    "a", "0", "<", "{", "[", "(", "%", "%25", "%3D", "+", "&", "&#", "\\", "\\u00", "\\\"", "=", ":", "~", ".",
    " ", "\n", "/", "@", "eyJ", "İ", "é", "\u2019", "<a ", "https://", ".instructure.com", "client_secret=",
    "unknown client ", "host='", "redirect_uri=", "a" * 63 + " ", "a" * 64 + " ", "refused to connect ",
    "could not resolve host: ", "certificate is valid for ", '{"a":', "-----BEGIN CERTIFICATE-----\n",
    "-----BEGIN PRIVATE KEY-----", "code=", "Bearer ", "cookie: ", "1~", "while(1);",
]


@pytest.mark.parametrize("unit", HOSTILE_UNITS, ids=repr)
def test_long_runs_of_one_unit_are_explained(unit):
    size = 256 * 1024
    _check_total((unit * (size // len(unit) + 1))[:size])


def test_deeply_nested_brackets_are_explained():
    depth = 200_000
    _check_total("[" * depth + "]" * depth)
    _check_total('{"error":' * 50_000 + '"unknown client"' + "}" * 50_000)


def test_huge_paste_is_cut_and_said_so(monkeypatch):
    monkeypatch.setattr(_explain_unwrap, "MAX_CHARS", 1000)
    expl = explain("x" * 1500 + " unknown client")
    assert expl.redacted_text.endswith("[... 515 more characters not read]")
    assert expl.matches == ()


_FIELD_ALPHABET = "tokensecretsidhintpasswapi_keyprivateassertion=: \\\"'&%3d&quot;xyz0123\n"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=_FIELD_ALPHABET, max_size=300))
def test_field_pattern_tried_at_word_starts_matches_like_finditer(text):
    # the fast path must find exactly what the pattern itself finds
    assert [m.span("v") for m in redact_mod._field_matches(text)] == \
        [m.span("v") for m in redact_mod._FIELD.finditer(text)]
