"""Redirect URI advice (reference §4): a table of real mistakes, each with what Canvas does.

Every row is also put to the fake Canvas's own reading of ``redirect_domain_matches?``
(written separately, in tests/lab/fake_canvas.py), so the advice and "what Canvas does"
cannot drift apart silently.
"""

from __future__ import annotations

import pytest

from diagnostics.redirect_uri import advise, legacy_matches, list_matches, matching_field, parse_uri
from tests.lab.fake_canvas import FakeKey

URI = "https://api.badgr.io/v1/canvas/callback"
EU_URI = "https://api.eu.badgr.io/v1/canvas/callback"

# (id, badgr uri, "Redirect URIs" lines, legacy field, field that matches, words the reasons must contain)
CASES = [
    ("list-exact", URI, [URI], None, "list", "exactly"),
    ("list-among-others", URI, ["https://other.example/cb", URI], None, "list", "exactly"),
    ("list-trailing-slash", URI, [URI + "/"], None, None, "ends with a slash"),
    ("list-missing-slash", URI + "/", [URI], None, None, "trailing slash is missing"),
    ("list-http", URI, [URI.replace("https", "http")], None, None, "http:// instead of https://"),
    ("list-query", URI, [URI + "?region=us"], None, None, "query string"),
    ("list-query-missing", URI + "?x=1", [URI], None, None, "lacks the query string"),
    ("list-case-host", URI, [URI.replace("api.badgr.io", "API.Badgr.io")], None, None, "upper/lower case"),
    ("list-case-path", URI, [URI.replace("canvas", "Canvas")], None, None, "path differs in upper/lower case"),
    ("list-spaces", URI, [URI + " "], None, None, "spaces before or after"),
    ("list-subdomain", EU_URI, ["https://eu.badgr.io/v1/canvas/callback"], None, None, "does not accept subdomains"),
    ("list-other-region", EU_URI, [URI], None, None, "another Badgr region"),
    ("list-other-path", URI, ["https://api.badgr.io/callback"], None, None, "the path is"),
    ("both-empty", URI, [], None, None, "is empty"),
    ("legacy-same-host", URI, [], "https://api.badgr.io", "legacy", "the same host"),
    ("legacy-other-path", URI, [], "https://api.badgr.io/something/else", "legacy", "path and port are ignored"),
    ("legacy-port-ignored", URI, [], "https://api.badgr.io:8443/", "legacy", "ignored"),
    ("legacy-parent-domain", EU_URI, [], "https://badgr.io", "legacy", "a subdomain of badgr.io"),
    ("legacy-after-list-miss", URI, [URI + "/"], "https://api.badgr.io", "legacy", "ends with a slash"),
    ("legacy-scheme", URI, [], "http://api.badgr.io", None, "same scheme"),
    ("legacy-child-domain", URI, [], "https://eu.api.badgr.io", None, "not the one above"),
    ("legacy-other-region", EU_URI, [], "https://api.badgr.io", None, "another Badgr region"),
    ("legacy-no-scheme", URI, [], "api.badgr.io", None, "not a full address"),
    ("legacy-spaces", URI, [], "https://api.badgr.io/ callback", None, "not a full address"),
    ("legacy-case", URI, [], "https://API.badgr.io", None, "upper/lower case"),
    ("legacy-other-site", URI, [], "https://canvas.example.edu", None, "names canvas.example.edu"),
    ("uri-not-https", "http://api.badgr.io/cb", [], "http://api.badgr.io", "legacy", "does not start with https://"),
    ("uri-not-an-address", "api.badgr.io/cb", ["api.badgr.io/cb"], None, "list", "not a full address"),
]


@pytest.mark.parametrize("uri, entries, legacy, field, words", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_advice(uri, entries, legacy, field, words):
    advice = advise(uri, entries, legacy)
    assert advice.field == field
    assert advice.will_match is (field is not None)
    assert any(words in reason for reason in advice.reasons), advice.reasons
    if field is None:
        assert "Redirect URI (Legacy)" in advice.suggestion and uri in advice.suggestion
    else:
        assert advice.suggestion == ""


@pytest.mark.parametrize("uri, entries, legacy, field, words", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_advice_agrees_with_the_fake_canvas(uri, entries, legacy, field, words):
    key = FakeKey(id="10000000000001", api_key="x" * 64, redirect_uris=list(entries), redirect_uri=legacy)
    assert key.redirect_domain_matches(uri) is (matching_field(uri, entries, legacy) is not None)


def test_list_is_tried_first():
    assert matching_field(URI, [URI], "https://api.badgr.io") == "list"


@pytest.mark.parametrize("text, host, port, scheme", [
    ("https://api.badgr.io/cb", "api.badgr.io", None, "https"),
    ("HTTPS://API.badgr.io:8443/cb?x=1", "API.badgr.io", 8443, "https"),
    ("https://user@api.badgr.io/", "api.badgr.io", None, "https"),
])
def test_parse_uri_reads_like_ruby(text, host, port, scheme):
    parts = parse_uri(text)
    assert parts is not None and (parts.host, parts.port, parts.scheme) == (host, port, scheme)


@pytest.mark.parametrize("text", ["", None, "api.badgr.io", "https:///cb", "https://a b/", "https://h:port/", "/cb"])
def test_parse_uri_refuses_what_has_no_host(text):
    assert parse_uri(text) is None


def test_empty_and_blank_never_match():
    assert not list_matches("", [""])
    assert not legacy_matches("", "https://api.badgr.io")
    assert advise("", [], "https://api.badgr.io").field is None


def test_evidence_is_plain_data():
    advice = advise(URI, [URI + "/"], "http://api.badgr.io")
    ev = advice.to_evidence([URI + "/"], "http://api.badgr.io")
    assert ev["will_match"] is False and ev["matched_by"] is None
    assert ev["key_redirect_uris"] == [URI + "/"] and len(ev["reasons"]) == 2
