"""The browser self-check, in plain Python: what to probe, and what the results mean.

The component (``portal/components/browser_check``) measures in the admin's browser and
hands back raw facts; :func:`evaluate` turns them into the dict the pages keep in
``st.session_state["browser_check"]`` (and the request email quotes)::

    {"checked_at": "2026-12-04T10:00:00Z", "region": "eu",
     "hosts": [{"name": "Badgr web (eu)", "url": "https://eu.badgr.com/", "status": "reachable|blocked|timeout",
                "ms": 182, "ok": true}],
     "cookies": {"enabled": true, "storage_access_api": true, "third_party": "allowed by default|blocked by default|...",
                 "advice": "..."},
     "clock": {"skew_s": 0.4, "ok": true},
     "browser": {"name": "Chrome", "version": "131.0", "user_agent": "..."},
     "popups": "allowed|blocked|unknown",
     "problems": ["..."], "summary_lines": ["..."]}

Hosts come from :func:`diagnostics.regions.load` (the shipped ``regions.toml`` with the
operator's ``CONNECT_CHECK_REGIONS`` file laid over it), the same table the live checks
use; an unusable operator file raises ``regions.RegionsError`` rather than being quietly
replaced. ``CONNECT_CHECK_BROWSER_TARGETS`` (``name=url,name=url``) replaces the hosts,
for tests and for operators behind a proxy.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
from typing import Any, Mapping, Sequence

from diagnostics import regions

__all__ = ["REGIONS", "REGION_LABELS", "CLOCK_SKEW_LIMIT_S", "region_hosts", "targets_for", "parse_user_agent",
           "evaluate"]

CLOCK_SKEW_LIMIT_S = 60.0
MAX_TARGETS = 8

REGION_LABELS = {"us": "United States (badgr.com)", "eu": "Europe (eu.badgr.com)", "ca": "Canada (ca.badgr.com)",
                 "au": "Australia (au.badgr.com)", "sg": "Singapore (sg.badgr.io)", "test": "Test sandbox (test.badgr.com)"}
REGIONS = tuple(REGION_LABELS)


def region_hosts(environ: Mapping[str, str] | None = None) -> dict[str, tuple[str, str]]:
    """``{region: (web host, api host[:port])}`` from :func:`diagnostics.regions.load`."""
    return {key: (r.web, r.api_host if r.api_port == 443 else f"{r.api_host}:{r.api_port}")
            for key, r in regions.load(environ).items()}


def targets_for(region: str, environ: Mapping[str, str] | None = None) -> list[dict[str, str]]:
    """What the browser should try to reach: ``[{"name", "url"}]``."""
    env = os.environ if environ is None else environ
    override = env.get("CONNECT_CHECK_BROWSER_TARGETS", "").strip()
    if override:
        out = []
        for item in override.split(","):
            name, sep, url = item.strip().partition("=")
            if sep and url.strip().lower().startswith(("http://", "https://")):
                out.append({"name": name.strip()[:60], "url": url.strip()[:300]})
        return out[:MAX_TARGETS]
    hosts = region_hosts(env)
    web, api = hosts.get(region) or hosts["us"]
    return [
        {"name": f"Badgr web ({region})", "url": f"https://{web}/"},
        {"name": f"Badgr API ({region})", "url": f"https://{api}/"},
    ]


_UA_RULES: Sequence[tuple[str, str]] = (
    ("Edge", r"Edg(?:e|A|iOS)?/([\d.]+)"),
    ("Opera", r"OPR/([\d.]+)"),
    ("Samsung Internet", r"SamsungBrowser/([\d.]+)"),
    ("Firefox", r"(?:Firefox|FxiOS)/([\d.]+)"),
    ("Chrome", r"(?:HeadlessChrome|Chrome|CriOS)/([\d.]+)"),
    ("Safari", r"Version/([\d.]+).*Safari/"),
)


def parse_user_agent(ua: str, *, brave: bool = False) -> dict[str, str]:
    """Browser name and major.minor version from a User-Agent string."""
    ua = (ua or "")[:512]
    for name, pattern in _UA_RULES:
        m = re.search(pattern, ua)
        if m:
            version = ".".join(m.group(1).split(".")[:2])
            if name == "Chrome" and brave:
                name = "Brave"
            if "HeadlessChrome" in ua:
                name += " (headless)"
            return {"name": name, "version": version, "user_agent": ua}
    return {"name": "Unknown browser", "version": "", "user_agent": ua}


_COOKIE_DEFAULTS = {
    "Safari": ("blocked by default",
               "Safari blocks third-party cookies by default (\"Prevent cross-site tracking\"). Badgr inside a "
               "Canvas frame cannot keep its session: open the tool in a new window, or turn that setting off "
               "for this test."),
    "Brave": ("blocked by default",
              "Brave blocks third-party cookies by default. Open the tool in a new window, or lower Shields for "
              "your Canvas site."),
    "Firefox": ("partitioned by default",
                "Firefox keeps third-party cookies separate per site (Total Cookie Protection). Most LTI tools "
                "work; if Badgr keeps asking you to log in inside Canvas, open it in a new window."),
    "Chrome": ("allowed by default",
               "Chrome allows third-party cookies in normal windows unless you or your organisation chose "
               "\"Block third-party cookies\"; Incognito windows block them. If Badgr fails only in Incognito, "
               "this is why."),
    "Edge": ("allowed by default",
             "Edge allows third-party cookies by default, except in InPrivate windows or when \"Block "
             "third-party cookies\" is on."),
}


def _cookie_view(raw: Mapping[str, Any], browser: Mapping[str, str]) -> dict[str, Any]:
    family = browser["name"].replace(" (headless)", "")
    enabled = bool(raw.get("enabled"))
    first_party = bool(raw.get("first_party_ok"))
    sa = bool(raw.get("storage_access_api"))
    if not enabled or not first_party:
        state, advice = ("blocked", "This browser does not accept cookies at all; Canvas and Badgr both need "
                                    "them. Allow cookies for your Canvas site and for badgr.com.")
    else:
        state, advice = _COOKIE_DEFAULTS.get(family, (
            "unknown", "We cannot tell this browser's default for third-party cookies. LTI tools inside a Canvas "
                       "frame need them; if Badgr keeps asking you to log in, open it in a new window."))
    return {"enabled": enabled, "first_party_ok": first_party, "storage_access_api": sa, "third_party": state,
            "advice": advice, "measured": "cookies enabled" if enabled and first_party else "cookies disabled"}


def evaluate(raw: Mapping[str, Any], *, server_now_ms: float, region: str,
             now: _dt.datetime | None = None) -> dict[str, Any]:
    """Turn the component's raw facts into the browser_check dict (see module doc)."""
    browser = parse_user_agent(str(raw.get("user_agent", "")), brave=bool(raw.get("brave")))
    hosts = []
    for h in list(raw.get("hosts") or [])[:MAX_TARGETS]:
        if not isinstance(h, Mapping):
            continue
        status = str(h.get("status", "blocked"))
        if status not in ("reachable", "blocked", "timeout"):
            status = "blocked"
        ms = h.get("ms")
        hosts.append({"name": str(h.get("name", ""))[:60], "url": str(h.get("url", ""))[:300], "status": status,
                      "ms": int(ms) if isinstance(ms, (int, float)) else None, "ok": status == "reachable"})
    client_ms = raw.get("client_time_ms")
    skew = None
    if isinstance(client_ms, (int, float)):
        skew = round((float(client_ms) - server_now_ms) / 1000.0, 1)
    clock = {"skew_s": skew, "ok": skew is not None and abs(skew) <= CLOCK_SKEW_LIMIT_S}
    popups = str(raw.get("popups", "unknown"))
    if popups not in ("allowed", "blocked"):
        popups = "unknown"
    cookies = _cookie_view(raw.get("cookies") or {}, browser)

    problems = []
    for h in hosts:
        if not h["ok"]:
            how = "timed out" if h["status"] == "timeout" else "was blocked or unreachable"
            problems.append(f"{h['name']} ({h['url']}) {how} from this browser: a firewall, proxy or content "
                            "filter may be blocking Badgr. Ask your network team to allow it.")
    if skew is not None and not clock["ok"]:
        problems.append(f"This computer's clock is {abs(skew):.0f} seconds {'ahead of' if skew > 0 else 'behind'} "
                        "the server's. LTI launches fail when clocks differ by more than a minute: set the clock to "
                        "update automatically.")
    if popups == "blocked":
        problems.append("Pop-ups are blocked. Badgr opens its Canvas sign-in in a new window: allow pop-ups for "
                        "your Canvas site.")
    if cookies["third_party"] == "blocked" or cookies["third_party"] == "blocked by default":
        problems.append(cookies["advice"])

    lines = [f"Browser: {browser['name']} {browser['version']}".rstrip()]
    for h in hosts:
        lines.append(f"{h['name']}: {h['status']}" + (f" in {h['ms']} ms" if h["ok"] and h["ms"] is not None else ""))
    lines.append(f"Cookies: {cookies['measured']}; third-party cookies {cookies['third_party']}")
    lines.append("Clock: " + (f"{skew:+.1f} s from the server" if skew is not None else "not measured"))
    lines.append(f"Pop-ups: {popups}")
    checked = (now or _dt.datetime.now(_dt.timezone.utc)).replace(microsecond=0)
    return {
        "checked_at": checked.isoformat().replace("+00:00", "Z"),
        "region": region,
        "hosts": hosts,
        "cookies": cookies,
        "clock": clock,
        "browser": browser,
        "popups": popups,
        "timezone": str(raw.get("timezone", ""))[:64],
        "problems": problems,
        "summary_lines": lines,
    }
