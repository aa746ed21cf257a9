"""Hosting step: Instructure-hosted (production/beta/test) or self-hosted? (reference §6)

Evidence, strongest first: the host name under instructure.com; a CNAME into
instructure.com; hosted-only headers (cluster and zone inside X-Canvas-Meta, a P3P header
naming instructure.com, X-Request-Processor). A Canvas with none of them is self-hosted.
Publishes ``"hosting"``: a :class:`model.Hosting`, which also fills the report's block.
"""

from __future__ import annotations

import re

from ..model import Hosting
from ..runner import RunContext

_ENV_SUFFIXES = ((".beta.instructure.com", "beta"), (".test.instructure.com", "test"), (".instructure.com", "production"))
_CLUSTER = re.compile(r"(?:^|;)\s*c=([^;]+)")
_ZONE = re.compile(r"(?:^|;)\s*z=([^;]+)")

#: LTI 1.3 platform values for hosted Canvas, per environment (reference §6).
HOSTED_LTI = {
    "production": {"issuer": "https://canvas.instructure.com", "sso": "sso.canvaslms.com"},
    "beta": {"issuer": "https://canvas.beta.instructure.com", "sso": "sso.beta.canvaslms.com"},
    "test": {"issuer": "https://canvas.test.instructure.com", "sso": "sso.test.canvaslms.com"},
}


def environment_from_name(name: str) -> str | None:
    name = name.lower().rstrip(".")
    for suffix, env in _ENV_SUFFIXES:
        if name.endswith(suffix):
            return env
    return None


def classify(host: str, cnames: tuple[str, ...], canvas_detected: bool | None, headers: dict[str, str]) -> Hosting:
    """Pure decision: who runs ``host``, from its name, CNAME chain and Canvas headers."""
    evidence: list[str] = []
    env = environment_from_name(host)
    if env:
        evidence.append(f"the host name is under instructure.com ({env})")
    for cname in cnames:
        cname_env = environment_from_name(cname)
        if cname_env:
            evidence.append(f"CNAME into Instructure: {cname}")
            env = env or cname_env
            break
    meta = headers.get("x-canvas-meta", "")
    cluster, zone = _CLUSTER.search(meta), _ZONE.search(meta)
    if cluster and zone:
        evidence.append(f"X-Canvas-Meta names an Instructure cluster ({cluster.group(1)}) and zone ({zone.group(1)})")
    if "instructure.com" in headers.get("p3p", "").lower():
        evidence.append("P3P header names instructure.com")
    if headers.get("x-request-processor"):
        evidence.append("X-Request-Processor header (Instructure's infrastructure)")
    if evidence:
        if env is None:
            cluster_name = cluster.group(1).lower() if cluster else ""
            env = "beta" if "beta" in cluster_name else "test" if "test" in cluster_name else "production"
            evidence.append(f"environment assumed {env}: a custom domain does not name it")
        return Hosting("instructure", env, tuple(evidence))
    if canvas_detected:
        return Hosting("self_hosted", None, ("Canvas answers, without any Instructure hosting signal",))
    if canvas_detected is False:
        return Hosting("not_canvas", None, ("the site does not answer like Canvas",))
    return Hosting("unknown", None, ())


async def check(ctx: RunContext) -> None:
    res = await ctx.need("dns")
    if res is None:
        return
    probe = await ctx.need("canvas")
    hosting = classify(
        ctx.target.host,
        tuple(res.cnames),
        None if probe is None else probe.detected,
        {} if probe is None else dict(probe.headers),
    )
    ctx.publish("hosting", hosting)
    evidence = {"kind": hosting.kind, "environment": hosting.environment, "evidence": list(hosting.evidence)}
    if hosting.kind == "instructure":
        ctx.emit("hosting.instructure", detail="; ".join(hosting.evidence) + ".", evidence=evidence)
        ctx.emit("hosting.environment", detail=_env_sentence(hosting.environment), evidence={"environment": hosting.environment})
        lti = HOSTED_LTI[hosting.environment or "production"]
        platform = {
            "issuer": lti["issuer"],
            "authorization_endpoint": f"https://{lti['sso']}/api/lti/authorize_redirect",
            "jwks_uri": f"https://{lti['sso']}/api/lti/security/jwks",
            "token_endpoint": f"{ctx.target.origin}/login/oauth2/token",
        }
        ctx.extras["lti_platform"] = platform
        ctx.emit("hosting.lti_platform", detail=f"Issuer {platform['issuer']}; JWKS {platform['jwks_uri']}.", evidence=platform)
    elif hosting.kind == "self_hosted":
        ctx.emit("hosting.self_hosted", detail="No Instructure hosting signal was found.", evidence=evidence)
        platform = {
            "issuer": "https://canvas.instructure.com (default; set your own in config/security.yml)",
            "authorization_endpoint": f"{ctx.target.origin}/api/lti/authorize_redirect",
            "jwks_uri": f"{ctx.target.origin}/api/lti/security/jwks",
            "token_endpoint": f"{ctx.target.origin}/login/oauth2/token",
        }
        ctx.extras["lti_platform"] = platform
        ctx.emit("hosting.lti_platform", detail=f"JWKS {platform['jwks_uri']}.", evidence=platform)


def _env_sentence(env: str | None) -> str:
    return {
        "production": "Production: the instance people use every day.",
        "beta": "Beta: overwritten from production every week; keys made here vanish at the next refresh.",
        "test": "Test: overwritten from production at each monthly release; keys made here vanish then.",
    }.get(env or "", "Unknown environment.")
