"""LTI step: Canvas's public LTI 1.3 key set, and the issuer Badgr must expect (§6).

Hosted Canvas publishes its key set on Instructure's SSO host for the environment
(``sso.canvaslms.com``, ``sso.beta.canvaslms.com``, ``sso.test.canvaslms.com``); a
self-hosted Canvas on its own host. :func:`read_jwks` (pure) parses the answer and lists
key ids and algorithms -> ``lti.jwks_ok`` / ``lti.jwks_unreachable``.

For self-hosted Canvas ``lti.issuer`` says which issuer Badgr should expect. Canvas only
shows its issuer (``lti_iss`` in config/security.yml) to a logged-in admin, so from the
outside the step gives the advice (info) and warns only when an answer it can read still
names the shipped default, https://canvas.instructure.com (see :func:`issuer_advice`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from ..model import Status
from ..net import HttpResult, NetError
from ..runner import RunContext
from .hosting import HOSTED_LTI
from .http import parse_canvas_json

JWKS_PATH = "/api/lti/security/jwks"
OPENID_CONFIGURATION_PATH = "/api/lti/security/openid-configuration"
DEFAULT_ISSUER = "https://canvas.instructure.com"
_EXCERPT = 300


@dataclass(frozen=True)
class JwksReading:
    """A parsed key set.

    Attributes:
        usable: at least one public signing key a tool can use.
        keys: ``{"kid", "kty", "alg", "use"}`` for every key listed (values may be None).
        problem: why it is not usable, or "" when it is.
        private_parts: True when a key publishes private material (``d``, ``p``, ``q``...).
    """

    usable: bool
    keys: tuple[dict[str, Any], ...] = ()
    problem: str = ""
    private_parts: bool = False


_PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "k")
_MATERIAL = {"RSA": ("n", "e"), "EC": ("crv", "x", "y"), "OKP": ("crv", "x")}


def read_jwks(result: HttpResult) -> JwksReading:
    """Is this a JSON Web Key Set with usable public signing keys?"""
    if result.status != 200:
        return JwksReading(False, problem=f"the address answered HTTP {result.status}")
    body = parse_canvas_json(result)
    if body is None:
        kind = (result.header("content-type") or "no content type").split(";")[0]
        return JwksReading(False, problem=f"the answer is not JSON ({kind})")
    if not isinstance(body, dict) or not isinstance(body.get("keys"), list):
        return JwksReading(False, problem='the JSON has no "keys" list')
    listed, usable, private = [], 0, False
    for key in body["keys"]:
        if not isinstance(key, dict):
            continue
        listed.append({name: key.get(name) if isinstance(key.get(name), str) else None
                       for name in ("kid", "kty", "alg", "use")})
        private = private or any(m in key for m in _PRIVATE_MEMBERS)
        material = _MATERIAL.get(str(key.get("kty")))
        if material and all(isinstance(key.get(m), str) and key.get(m) for m in material) \
                and key.get("use") in (None, "sig") and isinstance(key.get("kid"), str):
            usable += 1
    if not listed:
        return JwksReading(False, problem='the "keys" list is empty')
    if not usable:
        return JwksReading(False, tuple(listed), "no key in it is a complete public signing key with a kid", private)
    return JwksReading(True, tuple(listed), "", private)


def issuer_advice(origin: str, observed: str | None) -> tuple[Status, str]:
    """Status and sentence for a self-hosted Canvas's issuer (observed: what an answer
    showed, or None when Canvas keeps it to logged-in admins, as it normally does)."""
    if observed is not None and observed.rstrip("/") == DEFAULT_ISSUER:
        return Status.WARN, (f"This Canvas still names itself {DEFAULT_ISSUER}, the shipped default that belongs to "
                             f"Instructure's cloud: set lti_iss in config/security.yml to {origin}.")
    if observed:
        return Status.INFO, f"This Canvas names itself {observed}: Badgr should expect that issuer."
    return Status.INFO, (f"Badgr should expect the issuer set as lti_iss in config/security.yml, normally {origin}. "
                         "Canvas shows it only to a logged-in admin, so it could not be read from outside: if the file "
                         f"still reads {DEFAULT_ISSUER}, change it.")


async def check(ctx: RunContext) -> None:
    hosting = await ctx.need("hosting")
    kind = getattr(hosting, "kind", None)
    if kind == "instructure":
        env = getattr(hosting, "environment", None) or "production"
        sso = HOSTED_LTI.get(env, HOSTED_LTI["production"])["sso"]
        await _jwks(ctx, f"https://{sso}{JWKS_PATH}", verify=True, where=f"Instructure's SSO host for {env}",
                    hosted=True)
    elif kind == "self_hosted":
        # The Certificate step reports this host's TLS; here only the key set matters.
        # Two independent requests: both go out at once (one round trip, not two) and
        # are reported in reading order.
        issuer = asyncio.ensure_future(_read_issuer(ctx))
        try:
            await _jwks(ctx, ctx.target.url(JWKS_PATH), verify=False, where="this Canvas")
            _issuer(ctx, *await issuer)
        finally:
            issuer.cancel()


async def _jwks(ctx: RunContext, url: str, *, verify: bool, where: str, hosted: bool = False) -> None:
    # Hosted: the key set is Instructure's service, nothing the admin can change, and a
    # failure seen from here is more likely our network than theirs - a warning, with
    # the evidence, rather than "action needed" on the admin's Canvas.
    status = Status.WARN if hosted else None
    note = (" This is Instructure's service, not a setting in your Canvas: if it persists, tell Instructure support."
            if hosted else "")
    try:
        result = await ctx.net.fetch(url, headers={"Accept": "application/json"}, verify=verify)
    except NetError as exc:
        ctx.emit("lti.jwks_unreachable", status=status,
                 detail=f"The key set at {url} ({where}) could not be fetched: {exc}.{note}",
                 evidence={"url": url, "error": str(exc), "hosted": hosted})
        return
    reading = read_jwks(result)
    evidence: dict[str, Any] = {"url": url, "status": result.status, "keys": list(reading.keys), "hosted": hosted}
    if not reading.usable:
        evidence["body_excerpt"] = result.text()[:_EXCERPT]
        ctx.emit("lti.jwks_unreachable", status=status,
                 detail=f"The key set at {url} ({where}) is not usable: {reading.problem}.{note}", evidence=evidence)
        return
    listed = ", ".join(f"{k['kid']} ({k['alg'] or k['kty'] or '?'})" for k in reading.keys)
    detail = f"{len(reading.keys)} key(s) at {url}: {listed}."
    if reading.private_parts:
        detail += " Warning: a key publishes private key material; regenerate the LTI keys."
    ctx.extras["lti_jwks"] = {"url": url, "keys": list(reading.keys)}
    ctx.emit("lti.jwks_ok", detail=detail, evidence=evidence)


async def _read_issuer(ctx: RunContext) -> tuple[str, str | None, int | None]:
    """Read the issuer only where Canvas shows it without a login (it normally does not):
    (url asked, issuer seen or None, HTTP status or None)."""
    url = ctx.target.url(OPENID_CONFIGURATION_PATH)
    observed, status_seen = None, None
    try:
        result = await ctx.net.fetch(url, headers={"Accept": "application/json"}, verify=False)
        status_seen = result.status
        if result.status == 200:
            body = parse_canvas_json(result)
            if isinstance(body, dict) and isinstance(body.get("issuer"), str):
                observed = body["issuer"]
    except NetError:
        pass
    return url, observed, status_seen


def _issuer(ctx: RunContext, url: str, observed: str | None, status_seen: int | None) -> None:
    status, detail = issuer_advice(ctx.target.origin, observed)
    ctx.emit("lti.issuer", status=status, detail=detail,
             evidence={"expected": ctx.target.origin, "observed": observed, "default": DEFAULT_ISSUER,
                       "source": url if observed else "not readable without an admin login",
                       "status": status_seen})
