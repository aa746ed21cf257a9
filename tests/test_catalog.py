"""The one vocabulary: every code the code uses is in the catalog, with usable text."""

from __future__ import annotations

import pathlib
import re

import pytest

from diagnostics import catalog
from diagnostics.model import STEP_TITLES, Status

ROOT = pathlib.Path(__file__).resolve().parent.parent
DESIGN_CODES = [
    "dns.not_found", "net.private_address", "net.connect_failed", "net.timeout", "tls.handshake_failed",
    "tls.old_protocol", "tls.trusted", "tls.incomplete_chain", "tls.chain_order", "tls.self_signed",
    "tls.untrusted_root", "tls.expired", "tls.not_yet_valid", "tls.expiring_soon", "tls.hostname_mismatch",
    "tls.weak_signature", "tls.weak_key", "canvas.detected", "canvas.not_detected", "hosting.instructure",
    "hosting.self_hosted", "hosting.environment", "oauth.client_ok", "oauth.unknown_client",
    "oauth.redirect_uri_mismatch", "oauth.unauthorized_client", "oauth.secret_ok", "oauth.secret_invalid",
    "lti.jwks_ok", "lti.jwks_unreachable", "badgr.reachable", "badgr.unreachable", "badgr.preauthorization_required",
]
ENTRIES = catalog.load()


@pytest.mark.parametrize("code", DESIGN_CODES)
def test_design_codes_exist(code):
    assert code in ENTRIES


@pytest.mark.parametrize("code", sorted(ENTRIES))
def test_entry_is_usable(code):
    e = ENTRIES[code]
    assert re.fullmatch(r"[a-z]+\.[a-z0-9_]+", code)
    assert e.title and e.summary and len(e.summary) > 40
    assert e.step in STEP_TITLES
    assert e.owner in catalog.OWNERS
    if e.status in (Status.FAIL, Status.WARN, Status.ERROR):
        assert e.fix, f"{code} fails without a fix"
        assert all(len(step) > 15 for step in e.fix)


def _codes_used_in_source() -> set[str]:
    used = set()
    pattern = re.compile(r"""(?:emit|finding)\(\s*["']([a-z]+\.[a-z0-9_]+)["']""")
    for path in (ROOT / "diagnostics").rglob("*.py"):
        used.update(pattern.findall(path.read_text()))
    return used


def test_every_code_used_is_in_the_catalog():
    missing = _codes_used_in_source() - set(ENTRIES)
    assert not missing


def test_unknown_code_is_our_bug():
    with pytest.raises(catalog.UnknownCode):
        catalog.finding("nope.never")


def test_architecture_doc_lists_exactly_the_catalog_codes():
    doc = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    table = doc[doc.index("## Finding codes"):]
    listed = set(re.findall(r"^\| `([a-z_]+\.[a-z_]+)` \|", table, flags=re.M))
    assert listed == set(catalog.load()), "regenerate the table in docs/ARCHITECTURE.md from the catalog"
