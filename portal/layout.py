"""Page furniture shared by every page: page config, title, robots tag."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

__all__ = ["NOINDEX_HTML", "noindex", "page_config", "header", "ensure_navigation"]

FAVICON = Path(__file__).resolve().parent / "static" / "favicon.png"

# A constant: nothing from a user is ever put into HTML. The script moves the tag into
# <head>, where crawlers read it; the tag alone also stays in the page for those that
# read the body.
NOINDEX_HTML = (
    '<meta name="robots" content="noindex, nofollow">'
    "<script>(function(){var d=window.parent&&window.parent.document||document;"
    "if(!d.head.querySelector('meta[name=\"robots\"]')){var m=d.createElement('meta');"
    "m.name='robots';m.content='noindex, nofollow';d.head.appendChild(m);}})();</script>"
)


def noindex() -> None:
    """Ask search engines not to index the portal (reports are for the people who share them)."""
    st.html(NOINDEX_HTML, unsafe_allow_javascript=True)


def page_config() -> None:
    st.set_page_config(
        page_title="Connect Check",
        page_icon=str(FAVICON),  # a local file: no icon CDN
        layout="centered",
        menu_items={"About": "Connect Check: can Badgr connect to your Canvas, and what exactly to fix."},
    )


def header() -> None:
    """What every page shows on top (pages themselves never call st.title)."""
    noindex()
    st.title("Connect Check")
    st.caption("Connect Canvas to Badgr: find out what stands in the way, in plain words, and how to fix it.")


def ensure_navigation() -> None:
    """Make sure a page gets the app's frame even when Streamlit runs it on its own.

    Until the entry script has called st.navigation once in a process, Streamlit 1.67
    still treats a ``pages/`` folder the old way: the very first visit to ``/browser``
    (say, a shared link right after a restart) runs pages/browser.py alone, without the
    page config, title or robots tag. The flag it keys on is process-wide, and only an
    old-style run leaves it set while a page runs. Then: turn it off, and on a session's
    first run (nothing to lose) rerun through streamlit_app.py, whose page of the same
    url_path runs (page hashes come from the url_path, which equals the file name);
    on a later run (a click must not be lost) draw the frame here and go on.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if not PagesManager.uses_pages_directory:
        return
    PagesManager.uses_pages_directory = False
    if not list(st.session_state.keys()):
        st.rerun()
    page_config()
    header()
