"""Address step: resolve the Canvas host once, vet every address, note the CNAME chain.

Publishes ``"dns"``: a :class:`net.Resolution`, or None when the name cannot be used
(not found, private, timed out) - dependants then stop quietly, this step reported why.
"""

from __future__ import annotations

from ..net import NameNotFound, NetTimeout, PrivateAddress
from ..runner import RunContext

HOSTED_SUFFIXES = ("instructure.com", "canvaslms.com")


async def check(ctx: RunContext) -> None:
    host, port = ctx.target.host, ctx.target.port
    try:
        res = await ctx.net.resolve(host, port)
    except NameNotFound as exc:
        ctx.emit("dns.not_found", detail=f"{host}: {exc.detail}.", evidence={"host": host, "answer": exc.detail})
        return
    except NetTimeout:
        ctx.emit("net.timeout", detail=f"The DNS servers did not answer for {host} in time.",
                 evidence={"host": host, "step": "dns"})
        return
    evidence = {"host": host, "addresses": list(res.addresses), "cname_chain": list(res.cnames), "source": res.source}
    try:
        ctx.net.vet(host, res.addresses)
    except PrivateAddress as exc:
        ctx.emit("net.private_address", detail=f"{host} resolves to {exc.address} ({exc.reason}).",
                 evidence={**evidence, "refused": exc.address, "reason": exc.reason})
        return
    source = " (from the operator's --resolve setting)" if res.source == "override" else ""
    ctx.emit("dns.resolved", detail=f"{host} -> {', '.join(res.addresses)}{source}.", evidence=evidence)
    if res.cnames:
        into = next((c for c in res.cnames if c.endswith(HOSTED_SUFFIXES)), None)
        detail = f"{host} is an alias of {' -> '.join(res.cnames)}."
        if into:
            detail += f" {into} is an Instructure name: Instructure hosts this Canvas."
        ctx.emit("dns.cname", detail=detail, evidence={"cname_chain": list(res.cnames), "instructure": bool(into)})
    ctx.publish("dns", res)
