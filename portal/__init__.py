"""Streamlit rendering shared by the pages (DESIGN.md: pages stay thin).

    layout.py      page config, title, robots tag; the guard against Streamlit running a
                   page outside st.navigation
    boundary.py    page_guard(): friendly message + server log instead of a traceback
    checking.py    a check from a page: short cache, rate limits, live findings in st.status
    render.py      verdict banner, findings by step, evidence, downloads (st-key-* hooks)
    sharebox.py    share link, "Save and share this exact report", the snapshot store
    summary.py     plain Python: verdict text, grouping, Markdown summary, report diff
    browser.py     plain Python: browser self-check targets and judgement
    state.py       the session-state keys pages share
    components/    custom components (browser self-check, copy button), static files only

Logic that needs a test without Streamlit lives in summary.py, browser.py and in the
engine (diagnostics.share, .store, .batch, .ratelimit).
"""
