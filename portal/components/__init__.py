"""Streamlit custom components with their own static files (no CDN, no build step).

Each component is a folder of plain HTML, CSS and JavaScript next to this file, served by
Streamlit (``st.components.v1.declare_component(path=...)``) in a sandboxed iframe that
allows pop-ups and clipboard writes. ``bridge.js`` in each folder speaks the few messages
of Streamlit's component protocol they need (ready, render, height, value); the two
copies are kept identical by a test.

- ``browser_check/``: measures reachability, cookies, clock and pop-ups in the admin's
  browser; its value is the raw facts (see portal/browser.py).
- ``copy_button/``: copies a share link to the clipboard.

Why v1 and not ``st.components.v2``: in Streamlit 1.67 an interactive v2 component puts a
proxy object into session state that cannot be pickled, and
``runner.enforceSerializableSessionState`` (a production setting here) then fails every
run. A v1 component's value is plain JSON.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import streamlit.components.v1 as components

__all__ = ["browser_check", "copy_button", "COMPONENT_DIRS"]

_HERE = Path(__file__).resolve().parent
COMPONENT_DIRS = (_HERE / "browser_check", _HERE / "copy_button")


@lru_cache(maxsize=None)
def _declared(name: str):
    return components.declare_component(f"connect_check_{name}", path=str(_HERE / name))


def browser_check(*, targets: list[dict[str, str]], timeout_ms: int = 6000, key: str = "browser_component") -> Any:
    """Mount the self-check; returns the raw result dict after a run in the browser, else None."""
    return _declared("browser_check")(config={"targets": targets, "timeout_ms": timeout_ms}, key=key, default=None,
                                      height=120)


def copy_button(text: str, *, label: str = "Copy share link", key: str | None = None) -> None:
    """A button that copies ``text``; the text itself is shown by the caller too."""
    _declared("copy_button")(text=text, label=label, key=key, default=None, height=44)
