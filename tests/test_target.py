"""Input normalisation: a table of real pastes, and properties of the parser."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from diagnostics.target import MAX_INPUT, Target, TargetError, parse

ACCEPTED = [
    # (paste, origin, notes)
    ("myschool.instructure.com", "https://myschool.instructure.com", ()),
    ("https://myschool.instructure.com", "https://myschool.instructure.com", ()),
    ("https://myschool.instructure.com/", "https://myschool.instructure.com", ()),
    ("https://myschool.instructure.com/courses/123/modules?foo=1#top", "https://myschool.instructure.com", ("input.path_ignored",)),
    ("HTTPS://MySchool.Instructure.COM", "https://myschool.instructure.com", ()),
    ("myschool.instructure.com.", "https://myschool.instructure.com", ()),
    ("https://myschool.instructure.com.//", "https://myschool.instructure.com", ()),
    ('  "https://canvas.uni.edu"  ', "https://canvas.uni.edu", ()),
    ("'canvas.uni.edu'", "https://canvas.uni.edu", ()),
    ("<https://canvas.uni.edu/>", "https://canvas.uni.edu", ()),
    ("\u201chttps://canvas.uni.edu\u201d", "https://canvas.uni.edu", ()),
    ("canvas.uni.edu,", "https://canvas.uni.edu", ()),
    ("\tcanvas.uni.edu\n", "https://canvas.uni.edu", ()),
    ("http://canvas.uni.edu", "https://canvas.uni.edu", ("input.http_upgraded",)),
    ("http://canvas.uni.edu:80/login", "https://canvas.uni.edu", ("input.http_upgraded", "input.path_ignored")),
    ("canvas.uni.edu:443", "https://canvas.uni.edu", ()),
    ("canvas.uni.edu:8443", "https://canvas.uni.edu:8443", ()),
    ("https://canvas.uni.edu:8443/login/canvas", "https://canvas.uni.edu:8443", ("input.path_ignored",)),
    ("//canvas.uni.edu/x", "https://canvas.uni.edu", ("input.path_ignored",)),
    ("bücher.example", "https://xn--bcher-kva.example", ()),
    ("https://CANVAS.Universität.de/", "https://canvas.xn--universitt-y5a.de", ()),
    ("xn--bcher-kva.example", "https://xn--bcher-kva.example", ()),
    ("canvas。uni。edu", "https://canvas.uni.edu", ()),
    ("canvas.uni.edu?login=1", "https://canvas.uni.edu", ("input.path_ignored",)),
    # hyphens in the 3rd and 4th place: valid DNS names that IDNA's own rules would refuse
    ("my--school.instructure.com", "https://my--school.instructure.com", ()),
    ("r3---sn-abc.example.com", "https://r3---sn-abc.example.com", ()),
]


@pytest.mark.parametrize("paste, origin, notes", ACCEPTED, ids=[a[0] for a in ACCEPTED])
def test_accepts_what_admins_paste(paste, origin, notes):
    t = parse(paste)
    assert t.origin == origin
    assert t.notes == notes


def test_display_host_keeps_unicode():
    assert parse("https://bücher.example/x").display_host == "bücher.example"


REFUSED = [
    ("", "Enter the address"),
    ("   ", "Enter the address"),
    ('""', "Enter the address"),
    ("javascript:alert(1)", "not javascript:"),
    ("JavaScript:alert(document.cookie)", "not javascript:"),
    ("ftp://canvas.uni.edu", "not ftp:"),
    ("file:///etc/passwd", "not file:"),
    ("data:text/html,hi", "not data:"),
    ("https://admin:secret@canvas.uni.edu", "user name or password"),
    ("https://admin@canvas.uni.edu", "user name or password"),
    ("canvas.uni.edu:0", "Port 0 cannot be used"),
    ("canvas.uni.edu:65536", "cannot be used"),
    ("canvas.uni.edu:99999999", "not a port number"),
    ("canvas.uni.edu:https", "not a port number"),
    ("127.0.0.1", "not an IP address"),
    ("https://10.0.0.5/", "not an IP address"),
    ("2130706433", "not an IP address"),
    ("0x7f000001", "not an IP address"),
    ("0177.0.0.1", "not an IP address"),
    ("127.1", "not an IP address"),
    ("[::1]", "not an IP address"),
    ("https://[::ffff:169.254.169.254]/", "not an IP address"),
    ("canvas uni edu", "no spaces"),
    ("under_score.uni.edu", "not a valid host name"),
    ("-bad.uni.edu", "not a valid host name"),
    ("a..b.edu", "not a valid host name"),
    ("x" * 64 + ".edu", "not a valid host name"),
    ("https://", "no host name"),
    ("canvas.uni.edu\x00", "control characters"),
    ("x" * (MAX_INPUT + 1), "too long"),
]


@pytest.mark.parametrize("paste, reason", REFUSED, ids=[r[0][:40] or "empty" for r in REFUSED])
def test_refuses_with_one_line_reason(paste, reason):
    with pytest.raises(TargetError) as err:
        parse(paste)
    message = str(err.value)
    assert reason in message
    assert "\n" not in message


def test_refuses_non_strings():
    with pytest.raises(TargetError):
        parse(None)  # type: ignore[arg-type]


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=300))
def test_never_raises_anything_else(text):
    try:
        t = parse(text)
    except TargetError as exc:
        assert str(exc) and "\n" not in str(exc)
    else:
        assert isinstance(t, Target)
        assert t.origin.startswith("https://") and 1 <= t.port <= 65535
        assert t.host == t.host.lower() and t.host.isascii() and not t.host.endswith(".")


URL_PARTS = st.sampled_from(["", "http://", "https://", "HTTPS://", "//"])


@settings(max_examples=200, deadline=None)
@given(URL_PARTS, st.from_regex(r"[a-z][a-z0-9-]{0,10}[a-z0-9](\.[a-z][a-z0-9]{1,8}){1,3}", fullmatch=True),
       st.sampled_from(["", "/", "/courses/1", "?a=b", "#x"]))
def test_normalised_origin_is_stable(scheme, host, tail):
    t = parse(scheme + host + tail)
    assert parse(t.origin).origin == t.origin
