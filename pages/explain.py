"""Explain an error: paste what Canvas or Badgr showed, get the cause, the fix and who acts.

The paste is only ever shown back redacted and as code (st.code), never as Markdown or
HTML. Session state: ``explain_text`` (the text area), ``explain_result`` (the last
explanation as the explain JSON contract) and ``explain_extracted`` (values pulled out
of the paste, read by the request page).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Mapping

import pandas as pd
import streamlit as st

from diagnostics.share import ShareParams, clean_url
from portal import state
from portal.boundary import page_guard
from portal.summary import container_key, owner_label

MAX_PASTE = 20_000
_EXTRACTED_LABELS = {
    "canvas_url": "Canvas URL",
    "client_id": "Developer Key ID",
    "redirect_uri": "Redirect URI",
    "error_report_id": "Canvas error report ID",
    "request_context_id": "Request context ID",
}
_REQUEST_PAGE = Path(__file__).resolve().parent / "request.py"


def _explain(text: str) -> dict[str, Any]:
    from diagnostics.explain import explain  # the explainer: pure, no network

    return explain(text).to_dict()


def _match(m: Mapping[str, Any]) -> None:
    code = str(m.get("code", ""))
    with st.container(key=container_key("match", code), border=True):
        confidence = m.get("confidence")
        st.markdown(f"#### {m.get('title') or code}")
        meta = [f"`{code}`"]
        if isinstance(confidence, (int, float)):
            meta.append(f"confidence {confidence:.0%}")
        if m.get("owner"):
            meta.append(f"Who acts: {owner_label(str(m['owner']))}")
        st.caption(" · ".join(meta))
        if m.get("summary"):
            st.markdown(str(m["summary"]))
        fixes = list(m.get("fix") or [])
        if fixes:
            st.markdown("**What to do**\n\n" + "\n".join(f"{i}. {s}" for i, s in enumerate(fixes, 1)))
        if m.get("excerpt"):
            st.caption("The part of your message this is based on:")
            st.code(str(m["excerpt"]), language=None, wrap_lines=True)


def _as_shown(url: str) -> str:
    """The Canvas URL exactly as the message showed it, unless it carries more than an address."""
    return url if re.fullmatch(r"[^\s@?#]{1,300}", url) else clean_url(url)


def _actions(extracted: Mapping[str, Any]) -> None:
    canvas_url = extracted.get("canvas_url") or ""
    params = ShareParams.from_inputs(canvas_url, "", extracted.get("client_id") or "",
                                     extracted.get("redirect_uri") or "")
    cols = st.columns(2)
    if cols[0].button("Check this Canvas URL", type="primary", disabled=not params.url, key="explain_check",
                      help="Runs the live check of the Canvas address found in your message."
                      if params.url else "No Canvas address was found in the message."):
        st.switch_page("pages/check.py", query_params=params.to_query())
    has_request = _REQUEST_PAGE.exists()
    if cols[1].button("Use in my request", disabled=not has_request, key="explain_request",
                      help="Starts a request to Badgr support with the values found in your message."):
        st.session_state[state.EXPLAIN_EXTRACTED] = {k: v for k, v in extracted.items()
                                                      if isinstance(v, (str, int, float)) or v is None}
        query = {k: v for k, v in {
            "url": params.url,
            "client_id": params.client_id,
            "canvas_url_as_shown": _as_shown(str(canvas_url)) if canvas_url else "",
        }.items() if v}
        st.switch_page("pages/request.py", query_params=query)


def _result(result: Mapping[str, Any]) -> None:
    matches = list(result.get("matches") or [])
    if matches:
        st.subheader("What it means", divider="gray")
        for m in matches:
            _match(m)
    else:
        st.info("We do not recognise this message yet. General next steps: check your Canvas address on the "
                "Check page, make sure you copied the whole message, and send it to Badgr support with the "
                "Canvas URL and what you clicked just before it appeared.", icon=":material/help:")
    extracted = {k: v for k, v in (result.get("extracted") or {}).items() if v}
    if extracted:
        st.subheader("Values found in your message", divider="gray")
        rows = [{"value": _EXTRACTED_LABELS.get(k, k), "found": str(v)} for k, v in extracted.items()]
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    _actions(result.get("extracted") or {})
    if result.get("redacted_text"):
        with st.expander("Your message, with tokens and secrets removed"):
            st.code(str(result["redacted_text"]), language=None, wrap_lines=True)


def body() -> None:
    if "explain_text_next" in st.session_state:  # set before the widget exists, on the next run
        st.session_state["explain_text"] = st.session_state.pop("explain_text_next")
    with st.form("explain_form", border=True):
        text = st.text_area(
            "Paste the error message", key="explain_text", height=180, max_chars=MAX_PASTE,
            placeholder='{"error":"invalid_request","error_description":"redirect_uri does not match client settings"}',
            help="Paste the whole message as Canvas or Badgr showed it, even if it looks technical. Tokens, "
                 "secrets and hints are removed before anything is shown or stored.")
        submitted = st.form_submit_button("Explain", type="primary", help="Explains the message; nothing is sent anywhere.")
    if submitted:
        if not (text or "").strip():
            st.warning("Paste the message first.", icon=":material/edit_note:")
            st.session_state.pop("explain_result", None)
        else:
            result = _explain(text)
            st.session_state["explain_result"] = result
            st.session_state[state.EXPLAIN_EXTRACTED] = {k: v for k, v in (result.get("extracted") or {}).items()}
            # The raw paste is not kept around once explained: only its redacted form is.
            st.session_state["explain_text_next"] = result.get("redacted_text", "")
            st.rerun()
    result = st.session_state.get("explain_result")
    if result:
        _result(result)


with page_guard("explain"):
    body()
