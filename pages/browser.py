"""Browser self-check: what the admin's own browser and network allow.

Measured in the browser by a custom component (portal/components/browser_check) and
judged in Python (portal/browser.py). The result is kept in
``st.session_state["browser_check"]``, which the request email and saved reports include.
Session state: ``browser_region`` (the select box), ``browser_component`` (the
component's raw value), ``browser_last_nonce`` and ``browser_check``.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Mapping

import pandas as pd
import streamlit as st

from diagnostics.regions import RegionsError
from portal import state
from portal.boundary import page_guard
from portal.browser import CLOCK_SKEW_LIMIT_S, REGION_LABELS, REGIONS, evaluate, targets_for
from portal.components import browser_check

# Plain words in tables: the grid draws on a canvas, where emoji fonts are not a given.
_HOST_STATUS = {"reachable": "reachable", "blocked": "BLOCKED or unreachable", "timeout": "TIMED OUT"}


def _show(result: Mapping[str, Any]) -> None:
    problems = list(result.get("problems") or [])
    with st.container(key=f"browser-result-{'ok' if not problems else 'problems'}", border=True):
        if problems:
            st.warning(f"{len(problems)} thing{'s' if len(problems) != 1 else ''} in this browser may stop Badgr "
                       "from working:", icon=":material/warning:")
            for p in problems:
                st.markdown(f"- {p}")
        else:
            st.success("This browser can reach Badgr and allows what Badgr needs.", icon=":material/check_circle:")
        st.caption(f"Checked {str(result.get('checked_at', '')).replace('T', ' ').replace('Z', ' UTC')}.")

    st.subheader("Badgr servers from your browser", divider="gray")
    rows = [{"server": h.get("name", ""), "address": h.get("url", ""),
             "result": _HOST_STATUS.get(str(h.get("status")), str(h.get("status"))),
             "time": f"{h['ms']} ms" if h.get("ok") and h.get("ms") is not None else "—"}
            for h in result.get("hosts") or []]
    if rows:
        st.table(pd.DataFrame(rows), hide_index=True)

    cookies = result.get("cookies") or {}
    clock = result.get("clock") or {}
    browser = result.get("browser") or {}
    st.subheader("Cookies, clock, pop-ups", divider="gray")
    facts = [
        {"what": "Browser", "result": f"{browser.get('name', '')} {browser.get('version', '')}".strip()},
        {"what": "Cookies", "result": "enabled" if cookies.get("enabled") and cookies.get("first_party_ok") else "disabled"},
        {"what": "Third-party cookies", "result": str(cookies.get("third_party", "unknown"))},
        {"what": "Storage Access API", "result": "available" if cookies.get("storage_access_api") else "not available"},
        {"what": "Clock", "result": ("not measured" if clock.get("skew_s") is None else
                                     f"{clock['skew_s']:+.1f} s from the server "
                                     f"({'fine' if clock.get('ok') else f'more than {CLOCK_SKEW_LIMIT_S:.0f} s: fix it'})")},
        {"what": "Pop-ups", "result": str(result.get("popups", "unknown"))},
    ]
    st.table(pd.DataFrame(facts), hide_index=True)
    if cookies.get("advice"):
        st.info(str(cookies["advice"]), icon=":material/cookie:")
    with st.expander("Why these matter"):
        st.markdown(
            "- **Badgr servers**: if your network blocks badgr.com or its API, the Badgr app inside Canvas "
            "cannot load, whatever Canvas says.\n"
            "- **Third-party cookies**: Badgr runs inside a Canvas frame (an LTI launch). Safari blocks "
            "third-party cookies by default, Firefox keeps them separate per site, Chrome allows them "
            "except in Incognito or when you turned them off. Without them the tool forgets you logged in: "
            "open it in a new window instead.\n"
            "- **Clock**: LTI launches carry signed tokens valid for a short time; a clock more than a "
            "minute off makes them look expired or not yet valid.\n"
            "- **Pop-ups**: connecting your Badgr account to Canvas opens a sign-in window.")
    st.caption("These results are included in your request to Badgr support and in saved reports.")


def body() -> None:
    region = st.selectbox(
        "Badgr region", options=list(REGIONS), key="browser_region",
        format_func=REGION_LABELS.get,  # a dict's bound .get pickles with the widget state; a lambda does not
        help="The Badgr server your badges account is on; its web and API addresses are tested from your browser.")
    try:
        targets = targets_for(region)
    except RegionsError:
        logging.getLogger("connect_check.portal").exception("the regions file cannot be used")
        st.error("The portal's Badgr region settings cannot be read, so the self-check does not know which "
                 "servers to try. Please tell the team that runs this portal.", icon=":material/settings:")
        return
    raw = browser_check(targets=targets, timeout_ms=6000)
    # The component keeps returning its last value on every rerun: judge each run once,
    # right when it arrives (the clock comparison is only true at that moment).
    if isinstance(raw, dict) and raw.get("nonce") != st.session_state.get("browser_last_nonce"):
        st.session_state["browser_last_nonce"] = raw.get("nonce")
        st.session_state[state.BROWSER_CHECK] = evaluate(raw, server_now_ms=time.time() * 1000, region=region)
    result = st.session_state.get(state.BROWSER_CHECK)
    if result:
        _show(result)
    else:
        st.caption("Press the button to run the test. Nothing is installed; it takes a few seconds.")


with page_guard("browser"):
    body()
