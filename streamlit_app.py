"""Connect Check portal: page config, the shared title and the navigation.

Pages are listed here explicitly (st.navigation turns off the old pages/ auto-discovery);
tests/test_portal_pages.py keeps this list equal to the files in pages/.

Deep links (``/check?url=…``, ``/explain`` …) land on their page even as the very first
visit to a fresh process, when Streamlit would still run ``pages/<name>.py`` on its own:
every page's ``page_guard`` sends that first run back through this script
(``portal.layout.ensure_navigation``); tests/e2e/test_portal_e2e.py checks it in Chromium.
"""

from __future__ import annotations

import logging
from pathlib import Path

import streamlit as st

from portal.layout import header, page_config

HERE = Path(__file__).resolve().parent

#: (file in pages/, title, url_path, icon); the first is the home page.
PAGES = (
    ("check.py", "Check my Canvas", "check", ":material/fact_check:"),
    ("explain.py", "Explain an error", "explain", ":material/help:"),
    ("request.py", "Request access", "request", ":material/mail:"),
    ("browser.py", "Browser self-check", "browser", ":material/travel_explore:"),
    ("support.py", "Support", "support", ":material/support_agent:"),
)

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

page_config()


def pages() -> list[st.Page]:
    # A page whose file is not there yet (another team's) is left out rather than
    # breaking every page; tests/test_portal_pages.py catches a missing file.
    return [
        st.Page(f"pages/{file}", title=title, url_path=url_path, icon=icon, default=(i == 0))
        for i, (file, title, url_path, icon) in enumerate(PAGES)
        if (HERE / "pages" / file).exists()
    ]


page = st.navigation(pages(), position="top")
header()
page.run()
