"""Canvas step: does the site answer like Canvas? (reference §6)

Three unauthenticated probes run at once: ``/api/v1/users/self`` with
``Accept: application/json`` (Canvas answers 401 ``unauthenticated`` with
``WWW-Authenticate: Bearer realm="canvas-lms"``), the login page ``/login/canvas`` and
``/``. The probes read the site, they never send anything secret, so they run beside the
TLS step without waiting for its verdict (certificate problems are the TLS step's to
report). Publishes ``"canvas"``: a :class:`CanvasProbe`.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ..model import Status
from ..net import HttpResult, NetError
from ..runner import RunContext

SIGNAL_HEADERS = (
    "x-canvas-meta",
    "x-request-context-id",
    "x-session-id",
    "x-request-cost",
    "x-rate-limit-remaining",
    "x-request-processor",
    "p3p",
    "www-authenticate",
    "server",
    "location",
)


@dataclass(frozen=True)
class CanvasProbe:
    """What the fingerprint saw.

    Attributes:
        detected: the site answers like Canvas.
        reasons: the evidence that decided it, in plain words.
        headers: Canvas-relevant response headers (lower-case names) from all probes.
        redirect: where ``/`` redirects when that is another host, else None.
    """

    detected: bool
    reasons: tuple[str, ...] = ()
    headers: dict[str, str] = field(default_factory=dict)
    redirect: str | None = None


def strip_while1(text: str) -> str:
    text = text.lstrip()
    return text[len("while(1);"):] if text.startswith("while(1);") else text


def parse_canvas_json(result: HttpResult) -> object:
    """The JSON body of a Canvas answer (``while(1);`` stripped), or None when it is not
    JSON. Every check reads server JSON through here, hostile bodies included."""
    try:
        return json.loads(strip_while1(result.text()))
    except (ValueError, RecursionError):  # a hostile body nests [[[[... past the parser's depth
        return None


def fingerprint(users_self: HttpResult | None, login: HttpResult | None, root: HttpResult | None, host: str) -> CanvasProbe:
    """Pure decision from the three answers (any may be None when it failed)."""
    reasons: list[str] = []
    headers: dict[str, str] = {}
    for result in (users_self, login, root):
        if result is None:
            continue
        for name in SIGNAL_HEADERS:
            value = result.header(name)
            if value and name not in headers:
                headers[name] = value[:300]
    strong = False
    if users_self is not None:
        body = parse_canvas_json(users_self)
        if users_self.status == 401 and isinstance(body, dict) and body.get("status") == "unauthenticated":
            reasons.append('/api/v1/users/self answered 401 {"status":"unauthenticated"} like Canvas')
            strong = True
        auth = users_self.header("www-authenticate") or ""
        if 'realm="canvas-lms"' in auth:
            reasons.append('WWW-Authenticate: Bearer realm="canvas-lms"')
            strong = True
    if "x-canvas-meta" in headers:
        reasons.append("X-Canvas-Meta header present")
        strong = True
    if "x-request-context-id" in headers:
        reasons.append("X-Request-Context-Id header present")
    if login is not None and login.status == 200 and "canvas" in login.text()[:20000].lower():
        reasons.append("/login/canvas serves a Canvas login page")
    redirect = None
    if root is not None and 300 <= root.status < 400 and root.location:
        target_host = urlsplit(root.location).hostname
        if target_host and target_host != host:
            redirect = root.location
    return CanvasProbe(detected=strong, reasons=tuple(reasons), headers=headers, redirect=redirect)


async def check(ctx: RunContext) -> None:
    if await ctx.need("dns") is None:
        return
    t = ctx.target

    async def probe(path: str, accept: str) -> HttpResult | NetError:
        try:
            return await ctx.net.fetch(t.url(path), headers={"Accept": accept}, verify=False)
        except NetError as exc:
            return exc

    results = await asyncio.gather(
        probe("/api/v1/users/self", "application/json"),
        probe("/login/canvas", "text/html"),
        probe("/", "text/html"),
    )
    answers = [r if isinstance(r, HttpResult) else None for r in results]
    errors = [str(r) for r in results if isinstance(r, NetError)]
    if all(a is None for a in answers):
        ctx.emit("canvas.not_detected", status=Status.SKIP, detail="The site could not be asked: " + errors[0],
                 evidence={"errors": errors})
        return
    probe_result = fingerprint(*answers, host=t.host)
    evidence = {
        "reasons": list(probe_result.reasons),
        "headers": probe_result.headers,
        "probes": [
            {"path": p, "status": a.status if a else None, "error": None if a else e}
            for p, a, e in zip(("/api/v1/users/self", "/login/canvas", "/"), answers, [str(r) if isinstance(r, NetError) else None for r in results])
        ],
    }
    if probe_result.detected:
        ctx.emit("canvas.detected", detail="; ".join(probe_result.reasons) + ".", evidence=evidence)
    else:
        ctx.emit("canvas.not_detected", detail="None of Canvas's answers or headers were found.", evidence=evidence)
    if probe_result.redirect:
        ctx.emit("canvas.redirected", detail=f"{t.origin}/ redirects to {probe_result.redirect}.",
                 evidence={"location": probe_result.redirect})
    ctx.publish("canvas", probe_result)

