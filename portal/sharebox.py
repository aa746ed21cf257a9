"""The share box under a report: a link that re-runs the check, and a saved permalink.

- "Copy share link": the check page's address with the inputs as query parameters
  (diagnostics.share), never a secret; opening it re-runs the same check.
- "Save and share this exact report": stores a scrubbed snapshot (diagnostics.store) and
  gives ``/check?report=<id>``, which opens read-only with the date it was checked.

The store may be a database on another machine (PostgreSQL): when it is down, saving and
opening say so in a sentence (:func:`store_unavailable`); the log gets the reason, which
never carries the database password.
"""

from __future__ import annotations

import logging
from typing import Any, Mapping

import streamlit as st

from diagnostics.share import ShareParams, build_link
from diagnostics.store import BaseSnapshotStore, StoreUnavailable, default_store

from . import state
from .components import copy_button

__all__ = ["kept_for", "page_base_url", "share_box", "store", "store_unavailable", "STORE_UNAVAILABLE"]

log = logging.getLogger("connect_check.portal")

STORE_UNAVAILABLE = ("Saved reports cannot be opened right now: the service that keeps them is not answering. "
                     "This is a problem on our side, not with your Canvas. Please try this link again in a few "
                     "minutes, or run a new check.")

#: The check page is the home page, which Streamlit serves at the app's root ("/"): its
#: url_path "check" is not routable while it is the default page.
CHECK_PATH = ""
PAGE_PATHS = ("check", "explain", "request", "browser", "support")


@st.cache_resource(show_spinner=False)
def store() -> BaseSnapshotStore:
    s = default_store()
    try:
        s.purge_expired()
    except Exception:  # a read-only disk or a database that is down must not break the page
        pass
    return s


def kept_for() -> str:
    """How long saved reports are kept, as the operator configured it ("30 days")."""
    days = store().days
    n = int(days) if float(days).is_integer() else round(days, 1)
    return f"{n} day" if n == 1 else f"{n} days"


def store_unavailable(exc: StoreUnavailable) -> None:
    """Say that saved reports cannot be opened now; the reason (no password) goes to the log."""
    log.warning("opening a saved report failed: %s", exc)
    st.error(STORE_UNAVAILABLE, icon=":material/cloud_off:")


def page_base_url(path: str = CHECK_PATH) -> str:
    """The absolute address of a page as the browser sees it ("/" relative in tests)."""
    try:
        url = st.context.url
    except Exception:
        url = None
    if not url:
        return f"/{path}"
    base = url.split("?", 1)[0].split("#", 1)[0].rstrip("/")
    head, _, last = base.rpartition("/")
    # st.context.url ends with the current page's url_path (nothing on the home page).
    if last in PAGE_PATHS and "//" in head:
        base = head
    return f"{base}/{path}"


def share_box(report: Mapping[str, Any], params: ShareParams, *, key: str = "share") -> str:
    """Show the share link and the save button; returns the share link."""
    link = build_link(page_base_url(), params)
    saved = st.session_state.get("check_saved") or {}
    with st.container(border=True):
        st.markdown("**Share these results**")
        st.caption("Anyone with this link sees the same check run again (it never contains a secret).")
        st.code(link, language=None, wrap_lines=True)
        copy_button(link)
        started = str(report.get("started_at", ""))
        if saved.get("started_at") == started and saved.get("id"):
            permalink = build_link(page_base_url(), report_id=saved["id"])
            st.success("Saved. This link shows this exact report, as checked on "
                       f"{started.replace('T', ' ').replace('Z', ' UTC')}, for {kept_for()}:", icon=":material/link:")
            st.code(permalink, language=None, wrap_lines=True)
            copy_button(permalink, label="Copy report link")
        elif st.button("Save and share this exact report", key=f"{key}-save",
                       help="Stores a copy of this report (no secrets) and gives you a link to it. "
                            f"Saved reports are deleted after {kept_for()}."):
            meta: dict[str, Any] = {"params": params.to_query()}
            browser = st.session_state.get(state.BROWSER_CHECK)
            if browser:
                meta["browser_check"] = browser
            try:
                snap = store().save(report, meta=meta)
            except Exception:  # StoreUnavailable's message names the store, never its password
                log.exception("saving a snapshot failed")
                st.error("The report could not be saved right now. You can still download it below.")
            else:
                st.session_state["check_saved"] = {"id": snap.id, "started_at": started}
                st.rerun()
    return link
