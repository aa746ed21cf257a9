"""Session-state keys shared between pages (one documented key each; page-local keys
are prefixed with the page's name, as DESIGN.md asks).

- ``check_report``: the last finished check, as the Report JSON dict.
- ``browser_check``: the last browser self-check (see portal/browser.py for its shape).
- ``explain_extracted``: values the explainer pulled out of a pasted error
  (canvas_url, client_id, redirect_uri, error_report_id, request_context_id).

Everything stored is plain data (dicts, lists, strings, numbers): session state is
pickled (runner.enforceSerializableSessionState), so no library object goes in.
"""

CHECK_REPORT = "check_report"
BROWSER_CHECK = "browser_check"
EXPLAIN_EXTRACTED = "explain_extracted"
SESSION_ID = "portal_session_id"
