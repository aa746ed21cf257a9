"""The error boundary every page body runs in: a friendly message, details in the log.

    with page_guard("check"):
        ...page body...

A bug in a page (ours) shows one calm sentence and an incident number the person can
quote to support; the traceback goes to the server log under the same number. Streamlit's
own control flow (``st.rerun``, ``st.switch_page``, ``st.stop``) passes through untouched.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from typing import Iterator

import streamlit as st

from .layout import ensure_navigation

__all__ = ["page_guard", "FRIENDLY_ERROR"]

log = logging.getLogger("connect_check.portal")

FRIENDLY_ERROR = ("Something went wrong on our side while showing this page; it is not a problem with your "
                  "Canvas. Please reload the page and try again. If it keeps happening, send support this "
                  "incident number: {incident}.")


@contextlib.contextmanager
def page_guard(page: str) -> Iterator[None]:
    ensure_navigation()
    try:
        yield
    except Exception as exc:  # BaseException subclasses (rerun, stop, switch_page) pass through
        incident = secrets.token_hex(4)
        log.error("page %s failed (incident %s)", page, incident, exc_info=exc)
        st.error(FRIENDLY_ERROR.format(incident=incident), icon=":material/build:")
