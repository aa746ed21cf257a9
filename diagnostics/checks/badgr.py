"""Badgr step: the chosen region's API host answers over valid HTTPS; hosted approval.

:func:`check` - for ``Options.region``, one GET to the region's API host (from
regions.toml, so an operator or a test can point it elsewhere) through ``ctx.net``:
resolved and vetted, certificate validated, any HTTP answer counts ->
``badgr.reachable`` / ``badgr.unreachable``. No region, no finding.

:func:`preauthorization` - for Instructure-hosted Canvas, ``hosting.preauthorization``:
approval is normally automatic, when manual approval is needed, and the fields of that
request prepared in ``Report.extras["preauthorization_request"]`` for the request page.
"""

from __future__ import annotations

from typing import Any

from .. import regions
from ..model import Status
from ..net import NetError, ssl_error_in
from ..runner import RunContext


async def check(ctx: RunContext) -> None:
    key = ctx.options.region
    if not key:
        return
    region = regions.get(key)
    if region is None:
        ctx.emit("badgr.unreachable", status=Status.SKIP, detail=f"{key!r} is not a Badgr region Connect Check knows.",
                 evidence={"region": key, "known": list(regions.keys())})
        return
    url = region.api_origin + "/"
    evidence: dict[str, Any] = {"region": region.key, "api_host": region.api_host, "url": url}
    try:
        result = await ctx.net.fetch(url, headers={"Accept": "application/json"}, verify=True)
    except NetError as exc:
        tls = ssl_error_in(exc)
        reason = f"certificate or TLS problem ({getattr(tls, 'reason', None) or tls})" if tls else str(exc)
        ctx.emit("badgr.unreachable", detail=f"{region.name} ({region.api_host}): {reason}.",
                 evidence={**evidence, "error": str(exc), "kind": type(exc).__name__})
        return
    ctx.emit("badgr.reachable",
             detail=f"{region.name}: {region.api_host} answered HTTP {result.status} over a validated certificate.",
             evidence={**evidence, "status": result.status, "server": result.header("server")})


async def preauthorization(ctx: RunContext) -> None:
    hosting = await ctx.need("hosting")
    if getattr(hosting, "kind", None) != "instructure":
        return
    env = getattr(hosting, "environment", None) or "production"
    try:
        region = regions.get(ctx.options.region)
    except regions.RegionsError:
        region = None
    request = {
        "canvas_url": ctx.target.origin,
        "canvas_url_note": "Send the URL exactly as the approval message in Canvas shows it; this is the address "
                           "that was checked, and the message may name another (for example the instructure.com "
                           "name behind a custom domain).",
        "environment": env,
        "region": region.key if region else ctx.options.region,
        "badgr_web": region.web if region else None,
    }
    ctx.extras["preauthorization_request"] = request
    where = f"the {region.name} Badgr region ({region.web})" if region else "your Badgr region (not chosen yet)"
    detail = (f"Hosted Canvas, {env}. If Canvas asks for approval after you add the Badgr app, send Badgr support the "
              f"URL from that message exactly, environment {env}, and {where}; checked address: {ctx.target.origin}.")
    if env in ("beta", "test"):
        detail += f" {env.capitalize()} is refreshed from production, so approval there may need repeating after a refresh."
    ctx.emit("hosting.preauthorization", detail=detail, evidence=request)
