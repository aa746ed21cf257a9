"""Share links: an allow-list of keys, capped and cleaned values, never a secret."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given, strategies as st

from diagnostics.share import (ALLOWED_KEYS, MAX_URL, ShareParams, build_link, clean_url, parse_report_id)


@pytest.mark.parametrize("pasted, cleaned", [
    ("myschool.instructure.com", "myschool.instructure.com"),
    ("https://myschool.instructure.com/courses/1", "https://myschool.instructure.com/courses/1"),
    ("https://myschool.instructure.com/courses/1?login_hint=abc#frag", "https://myschool.instructure.com/courses/1"),
    ("https://admin:hunter2@canvas.example.edu/", "https://canvas.example.edu/"),
    ("admin:hunter2@canvas.example.edu", "canvas.example.edu"),
    ("  https://canvas.example.edu:8443  ", "https://canvas.example.edu:8443"),
    ("https://canvas.example.edu\n/evil", "https://canvas.example.edu/evil"),
    ("https://canvas.example.edu:99999/x?token=1", "https://canvas.example.edu:99999/x"),
], ids=["bare", "path", "query-fragment", "userinfo", "userinfo-bare", "port", "control-chars", "bad-port"])
def test_clean_url(pasted, cleaned):
    assert clean_url(pasted) == cleaned


def test_clean_url_keeps_harmless_query_only_when_asked():
    uri = "https://api.eu.badgr.io/o/canvas?x=1&code=SECRET&state=abc&access_token=t"
    assert clean_url(uri) == "https://api.eu.badgr.io/o/canvas"
    assert clean_url(uri, keep_query=True) == "https://api.eu.badgr.io/o/canvas?x=1"


def test_from_query_allow_list_and_shapes():
    params = ShareParams.from_query({
        "url": "https://canvas.example.edu/courses/1?session=abc",
        "region": "EU",
        "client_id": "170000000000044",
        "redirect_uri": "https://api.badgr.io/cb?code=123",
        "secret": "a" * 64,
        "client_secret": "b" * 64,
        "report": "whatever",
        "anything": "else",
    })
    assert params.to_query() == {
        "url": "https://canvas.example.edu/courses/1",
        "region": "eu",
        "client_id": "170000000000044",
        "redirect_uri": "https://api.badgr.io/cb",
    }
    assert set(params.to_query()) <= set(ALLOWED_KEYS)


@pytest.mark.parametrize("key, value", [
    ("region", "mars"), ("region", []), ("client_id", "12ab"), ("client_id", "1" * 40),
    ("client_id", "１２３"),  # full-width digits are digits to str.isdigit, not to Canvas
    ("redirect_uri", 42),
])
def test_bad_values_are_dropped(key, value):
    assert key not in ShareParams.from_query({"url": "canvas.example.edu", key: value}).to_query()


def test_list_values_take_the_first():
    assert ShareParams.from_query({"url": ["a.example.edu", "b.example.edu"]}).url == "a.example.edu"


def test_build_link_round_trip():
    params = ShareParams.from_inputs("https://canvas.example.edu", "ca", "10000000000003", "")
    link = build_link("http://portal.example/check?old=1#x", params)
    assert link.startswith("http://portal.example/check?")
    query = {k: v[0] for k, v in parse_qs(urlsplit(link).query).items()}
    assert ShareParams.from_query(query) == params


def test_key_redirect_fields_round_trip_cleaned():
    params = ShareParams.from_inputs(
        "canvas.example.edu", "", "10000000000003", "https://api.badgr.io/cb",
        " https://api.badgr.io/cb/ \n\nhttps://u:p@api.badgr.io/x?token=abc#frag\n" + "https://a.example/\n" * 30,
        "https://badgr.io?code=1")
    assert params.key_redirect_uri_list[:2] == ("https://api.badgr.io/cb/", "https://api.badgr.io/x")
    assert len(params.key_redirect_uri_list) == 20  # capped
    assert params.key_legacy_redirect_uri == "https://badgr.io"
    link = build_link("/check", params)
    assert "token" not in link and "u:p" not in link and "code=" not in link
    query = {k: v[0] for k, v in parse_qs(urlsplit(link).query).items()}
    assert ShareParams.from_query(query) == params


def test_build_link_for_report():
    assert build_link("/check", report_id="A" * 24) == "/check?report=" + "A" * 24
    with pytest.raises(ValueError):
        build_link("/check", report_id="../../etc/passwd")


@pytest.mark.parametrize("value, expected", [
    ("AbCdEfGhIjKlMnOpQrStUvWx", "AbCdEfGhIjKlMnOpQrStUvWx"),
    ("https://portal.example/check?report=AbCdEfGhIjKlMnOpQrStUvWx", "AbCdEfGhIjKlMnOpQrStUvWx"),
    ("/check?url=x&report=AbCdEfGhIjKlMnOpQrStUvWx", "AbCdEfGhIjKlMnOpQrStUvWx"),
    (["AbCdEfGhIjKlMnOpQrStUvWx"], "AbCdEfGhIjKlMnOpQrStUvWx"),
    ("short", None),
    ("AbCdEfGhIjKlMnOp'; DROP TABLE snapshots;--", None),
    ("x" * 65, None),
    (None, None),
])
def test_parse_report_id(value, expected):
    assert parse_report_id(value) == expected


@given(st.dictionaries(st.sampled_from(["url", "region", "client_id", "redirect_uri", "secret", "x"]),
                       st.one_of(st.text(max_size=3000), st.lists(st.text(max_size=50), max_size=3))))
def test_from_query_never_raises_and_stays_small(query):
    params = ShareParams.from_query(query)
    out = params.to_query()
    assert set(out) <= set(ALLOWED_KEYS)
    assert all(len(v) <= MAX_URL for v in out.values())
    url = out.get("url", "")
    assert "?" not in url and "#" not in url
    if "://" in url:
        try:
            assert urlsplit(url).username is None
        except ValueError:
            pass


@given(st.text(max_size=500))
def test_clean_url_never_raises(text):
    assert isinstance(clean_url(text), str)
