"""Developer Key format checks (reference §5): tables of real pastes and what they mean."""

from __future__ import annotations

import pytest

from diagnostics.keys import (
    KeyProblem,
    check_client_id,
    check_secret,
    errors_only,
    normalise_client_id,
    normalise_secret,
)

SECRET = "Zx7Qp2Lm9Rt4Vb6Nc1Kd8Hf3Gj5Ws0Ye2Ua7Io4Pl9Mk3Nj6Bh1Vg8Cf5Dx2Sz7A"
assert len(SECRET) == 64


def kinds(problems: list[KeyProblem]) -> list[str]:
    return [p.kind for p in problems]


# ---------------------------------------------------------------------------- client_id
@pytest.mark.parametrize(
    "text",
    [
        "10000000000003",          # self-hosted, single shard: 14 digits
        "170000000000044",         # hosted: 15 digits
        "123450000000000123",      # 18 digits
        " 10000000000003 \n",      # copied with the line break
        '"10000000000003"',        # quoted in a chat message
        "\u201c170000000000044\u201d",
    ],
    ids=["14-digits", "15-digits", "18-digits", "surrounding-space", "quoted", "smart-quoted"],
)
def test_good_client_ids(text):
    assert check_client_id(text) == []


@pytest.mark.parametrize(
    "text, kind, severity",
    [
        ("", "empty", "error"),
        ("   ", "empty", "error"),
        ("1000000000003a", "not_digits", "error"),
        ("Badgr", "not_digits", "error"),
        ("١٠٠٠٠٠٠٠٠٠٠٠٠٣", "not_digits", "error"),  # Arabic-Indic digits are not an ID
        (SECRET, "secret_pasted", "error"),
        ("1000 0000 0000 03", "whitespace", "error"),
        ("10000000000003\n10000000000004", "whitespace", "error"),
        ("https://canvas.uni.edu/accounts/1/developer_keys", "url", "error"),
        ("https://canvas.uni.edu/login/oauth2/auth?client_id=10000000000003&response_type=code", "url", "error"),
        ("eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJodHRwczovL2NhbnZhcyJ9.c2lnbmF0dXJl", "jwt", "error"),
        ("17~44", "tilde_id", "error"),
        ("3", "unusual_length", "warning"),
        ("1000000000003", "unusual_length", "warning"),        # 13 digits
        ("1234567890123456789", "unusual_length", "warning"),  # 19 digits
    ],
    ids=["empty", "blank", "letter", "name", "non-ascii-digits", "secret", "spaced", "two-ids", "url",
         "auth-url", "jwt", "tilde", "local-id", "13-digits", "19-digits"],
)
def test_bad_client_ids(text, kind, severity):
    problems = check_client_id(text)
    assert kinds(problems) == [kind]
    assert problems[0].field == "client_id"
    assert problems[0].severity == severity
    assert problems[0].message.endswith(".")


def test_client_id_inside_an_auth_url_is_named():
    [p] = check_client_id("https://canvas.uni.edu/login/oauth2/auth?client_id=10000000000003")
    assert "10000000000003" in p.message


def test_tilde_id_is_expanded_with_the_shard_formula():
    [p] = check_client_id("17~44")
    assert "170000000000044" in p.message


def test_a_secret_pasted_as_id_is_not_repeated():
    [p] = check_client_id(SECRET)
    assert SECRET[:8] not in p.message


def test_client_id_stays_a_string():
    assert normalise_client_id(" '170000000000044' ") == "170000000000044"
    assert isinstance(normalise_client_id("10000000000003"), str)
    assert normalise_client_id(None) == ""


def test_warnings_are_not_errors():
    assert errors_only(check_client_id("3")) == []
    assert errors_only(check_client_id("abc")) != []


# ---------------------------------------------------------------------------- secret
@pytest.mark.parametrize("text", [SECRET, f"  {SECRET}\n", f'"{SECRET}"', "A" * 64, "7" * 64],
                         ids=["mixed", "surrounding-space", "quoted", "letters", "digits"])
def test_good_secrets(text):
    assert check_secret(text) == []


def _spaced(s: str) -> str:
    return s[:20] + " " + s[20:40] + "\n" + s[40:]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("", ["empty"]),
        (SECRET[:20], ["display_copied"]),
        (SECRET[:18] + "...", ["display_copied"]),
        (SECRET[:20] + "\u2026", ["display_copied"]),
        ("*" * 20, ["display_copied"]),
        (SECRET[:63], ["wrong_length"]),
        (SECRET + "x", ["wrong_length"]),
        (SECRET[:40], ["wrong_length"]),
        (SECRET[:8], ["too_short"]),
        (SECRET + SECRET, ["pasted_twice"]),
        (_spaced(SECRET), ["whitespace"]),
        (SECRET[:30] + " " + SECRET[30:63], ["whitespace", "wrong_length"]),
        (SECRET[:63] + "-", ["bad_characters"]),
        ("eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJodHRwczovL2NhbnZhcyJ9.c2lnbmF0dXJlX2J5dGVz", ["jwt"]),
        ("https://canvas.uni.edu/accounts/1/developer_keys", ["url"]),
        ("10000000000003", ["id_pasted"]),
    ],
    ids=["empty", "20-display", "dots", "ellipsis", "stars", "63", "65", "40", "8", "twice",
         "spaces-inside", "spaces-and-63", "dash", "jwt", "url", "the-id"],
)
def test_bad_secrets(text, expected):
    problems = check_secret(text)
    assert kinds(problems) == expected
    assert all(p.field == "secret" and p.is_error for p in problems)


def test_spaced_secret_message_says_it_is_otherwise_right():
    [p] = check_secret(_spaced(SECRET))
    assert "64 characters, which is right" in p.message


@pytest.mark.parametrize("n", [20, 63, 65])
def test_messages_give_the_length(n):
    text = (SECRET * 2)[:n]
    [p] = check_secret(text)
    assert str(n) in p.message


@pytest.mark.parametrize(
    "text",
    [SECRET[:20], SECRET[:63], SECRET + "Q", _spaced(SECRET), SECRET[:63] + "-", SECRET + SECRET, SECRET[:8]],
)
def test_secret_messages_never_echo_the_secret(text):
    compact = "".join(text.split())
    for p in check_secret(text):
        # no run of 6 characters from the pasted value appears in the message
        assert not any(compact[i:i + 6] in p.message for i in range(len(compact) - 5)), p


def test_normalise_secret_keeps_inner_whitespace():
    assert normalise_secret(" 'ab cd' \n") == "ab cd"
    assert normalise_secret(None) == ""
