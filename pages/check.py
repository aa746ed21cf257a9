"""Check my Canvas (home): a URL in, findings live, a verdict, share and save.

Query parameters: ``url``, ``region``, ``client_id``, ``redirect_uri`` (a share link:
the check runs on load) or ``report=<id>`` (a saved snapshot, read-only, with a re-run
and a diff). Session state: ``check_report`` (the last report, read by other pages),
``check_meta``, ``check_applied``, ``check_saved``, ``check_rerun`` and the ``check_*``
widget keys.

The Developer Key secret (opt-in, "Also verify my secret key") goes into
``Options.secret`` for the one run that was asked for and nowhere else: not the query
string or share link, not the short result cache (``checking.run_check_live`` skips it
both ways), not a snapshot. Its widget value is dropped from session state as soon as
that run ends, and the field is emptied on the next run (``check_forget_secret``).
"""

from __future__ import annotations

from typing import Any, Mapping

import streamlit as st

from diagnostics.runner import Options
from diagnostics.share import ShareParams, parse_report_id
from diagnostics.store import StoreUnavailable
from diagnostics.target import TargetError, parse
from portal import checking, render, sharebox, state
from portal.boundary import page_guard
from portal.browser import REGION_LABELS
from portal.summary import diff_reports

K_URL, K_REGION, K_CLIENT, K_REDIRECT = "check_url", "check_region", "check_client_id", "check_redirect_uri"
K_KEY_URIS, K_KEY_LEGACY = "check_key_redirect_uris", "check_key_legacy_redirect_uri"
K_VERIFY, K_SECRET = "check_verify_secret", "check_secret"
K_FORGET = "check_forget_secret"

# format_func must pickle with the widget state: a dict's bound .get does, a lambda does not.
_REGION_CHOICES = {"": "Not sure / skip the Badgr step", **REGION_LABELS}


def _when(iso: object) -> str:
    text = str(iso or "")
    return text.replace("T", " ").replace("Z", " UTC") if text else "an unknown date"


def _options(params: ShareParams, secret: str | None = None) -> Options:
    return Options(region=params.region or None, client_id=params.client_id or None,
                   redirect_uri=params.redirect_uri or None, key_redirect_uris=params.key_redirect_uri_list,
                   key_legacy_redirect_uri=params.key_legacy_redirect_uri or None, secret=secret or None)


def _take_secret() -> str | None:
    """The secret for this one run (when opted in), removed from session state right away.

    Called only on the run where the form was submitted; the field itself is emptied at
    the start of the next run (a widget's value cannot be set once it is drawn).
    """
    verify = bool(st.session_state.get(K_VERIFY))
    raw = st.session_state.pop(K_SECRET, None)
    st.session_state[K_FORGET] = True
    secret = raw.strip() if verify and isinstance(raw, str) else ""
    if verify and not secret:
        st.session_state["check_secret_empty"] = True  # said under the results (this run reruns)
    return secret or None


def _forget_secret_field() -> None:
    """Empty the secret field (and untick it) before the form is drawn again."""
    if st.session_state.pop(K_FORGET, False):
        st.session_state[K_SECRET] = ""
        st.session_state[K_VERIFY] = False


def _run(params: ShareParams, *, fresh: bool = False, store_as: str = state.CHECK_REPORT,
         secret: str | None = None) -> dict[str, Any] | None:
    """Run (or answer from the short cache) and keep the report; None when refused."""
    try:
        target = parse(params.url)
    except TargetError as exc:
        st.error(render.md_escape(str(exc)), icon=":material/edit_note:")
        return None
    outcome = checking.run_check_live(target, _options(params, secret), fresh=fresh)
    if outcome.report is None:
        st.warning(outcome.message, icon=":material/hourglass_top:")
        return None
    if store_as == state.CHECK_REPORT:
        st.session_state[state.CHECK_REPORT] = outcome.report
        st.session_state["check_meta"] = {"params": params.to_query(), "cached_age": outcome.cached_age,
                                          "secret_checked": bool(secret)}
    return outcome.report


def _apply_link(link: ShareParams) -> bool:
    """Put a share link's values into the form once; True when it should run now."""
    if link.empty or st.session_state.get("check_applied") == link.to_query():
        return False
    st.session_state[K_URL] = link.url
    st.session_state[K_REGION] = link.region
    st.session_state[K_CLIENT] = link.client_id
    st.session_state[K_REDIRECT] = link.redirect_uri
    st.session_state[K_KEY_URIS] = link.key_redirect_uris
    st.session_state[K_KEY_LEGACY] = link.key_legacy_redirect_uri
    st.session_state["check_applied"] = link.to_query()
    return True


def _form() -> tuple[ShareParams, str | None] | None:
    """The inputs; when the form was submitted, the cleaned parameters and the secret
    for this run (None unless the admin opted in)."""
    _forget_secret_field()
    with st.form("check_form", enter_to_submit=True, border=True):
        raw_url = st.text_input(
            "Canvas URL", key=K_URL, placeholder="myschool.instructure.com",
            help="The address of your Canvas, as you see it in the browser's address bar. A full link to a "
                 "course page works too: only the server address is checked.")
        st.selectbox(
            "Badgr region", options=list(_REGION_CHOICES), key=K_REGION, format_func=_REGION_CHOICES.get,
            help="The Badgr (Canvas Credentials) server your badges account is on. Canvas approved on one region "
                 "does not work with an account on another.")
        with st.expander("Advanced: check a Developer Key (self-hosted Canvas)"):
            st.text_input(
                "Developer Key ID", key=K_CLIENT, placeholder="10000000000003",
                help="The number in the Details column of Admin > Developer Keys. Canvas is asked whether it "
                     "knows this key and whether it is switched On; nobody is logged in.")
            st.text_input(
                "Redirect URI", key=K_REDIRECT, placeholder="https://…",
                help="The redirect URI Badgr support gave you for your Developer Key (the one Badgr sends). "
                     "Leave empty if you do not have one.")
            st.text_area(
                "Redirect URIs in your Developer Key", key=K_KEY_URIS, height=80, placeholder="https://…",
                help="Copy what you typed into the key's \"Redirect URIs\" box (Admin > Developer Keys > edit the "
                     "key), one per line. Canvas compares each line with Badgr's redirect URI character by "
                     "character, trailing slash included.")
            st.text_input(
                "Redirect URI (Legacy) in your Developer Key", key=K_KEY_LEGACY, placeholder="https://…",
                help="Copy what you typed into the key's \"Redirect URI (Legacy)\" field. Canvas accepts any "
                     "address on that host or one of its subdomains there. Leave empty if the field is empty.")
            st.checkbox(
                "Also verify my secret key", key=K_VERIFY,
                help="Asks your Canvas whether the secret belongs to this Developer Key ID, without logging "
                     "anyone in. Only done when you tick this box.")
            st.text_input(
                "Secret key", key=K_SECRET, type="password", autocomplete="off",
                help="All 64 characters (click Show Key in Admin > Developer Keys). It is sent once only to "
                     "this Canvas's token endpoint (/login/oauth2/token) over a validated TLS connection, and "
                     "is never stored, shared or logged: it is not in the report, the share link or a saved "
                     "report, and this field is emptied after the check.")
        submitted = st.form_submit_button("Check", type="primary", help="Runs every check now (Enter works too).")
    st.caption("To be gentle with Canvas servers, checks are limited per person and per server, and an "
               "identical check within a minute is answered from a short cache (never a check that "
               "verifies a secret).")
    if not submitted:
        return None
    secret = _take_secret()
    try:
        parse(raw_url)  # the reason in the person's own input, before anything is cleaned
    except TargetError as exc:
        st.error(render.md_escape(str(exc)), icon=":material/edit_note:")
        return None
    params = ShareParams.from_inputs(raw_url, *(st.session_state.get(k, "") for k in
                                               (K_REGION, K_CLIENT, K_REDIRECT, K_KEY_URIS, K_KEY_LEGACY)))
    return params, secret


def _show(report: Mapping[str, Any], params: ShareParams, cached_age: float | None) -> None:
    render.verdict_banner(report)
    if cached_age is not None:
        st.info(f"These results come from a check of the same address made {cached_age:.0f} seconds ago: "
                f"identical checks within a minute are answered from a short cache.", icon=":material/history:")
    if st.button("Check again now", key="check_again",
                 help="Runs every check again instead of using the result from the last minute."):
        if _run(params, fresh=True) is not None:
            st.rerun()
    link = sharebox.share_box(report, params)
    render.report_body(report)
    st.divider()
    render.downloads(report, share_link=link, browser_check=st.session_state.get(state.BROWSER_CHECK))


def _snapshot(report_id: str | None) -> None:
    try:
        snap = sharebox.store().load(report_id) if report_id else None
    except StoreUnavailable as exc:  # the shared database is down: not "not found", not a bug
        sharebox.store_unavailable(exc)
        return
    if snap is None:
        st.error(f"This saved report was not found. Saved reports are kept for {sharebox.kept_for()}, so it may have expired, "
                 "or the link may have been cut short.", icon=":material/search_off:")
        if st.button("Start a new check", type="primary"):
            st.query_params.clear()
            st.rerun()
        return
    report = snap.report
    saved_params = snap.meta.get("params") if isinstance(snap.meta.get("params"), Mapping) else {}
    params = ShareParams.from_query(saved_params or {"url": (report.get("target") or {}).get("origin", "")})
    st.info(f"Saved report (read-only): checked on {_when(report.get('started_at'))}. "
            f"This link works until {_when(snap.expires_at)}.", icon=":material/push_pin:")
    rerun = st.session_state.get("check_rerun") or {}
    if rerun.get("id") != snap.id:
        if st.button("Re-run now", type="primary", key="check_rerun_button",
                     help="Runs the same check again and shows what changed since this report was saved."):
            new = _run(params, fresh=True, store_as="check_rerun")
            if new is not None:
                st.session_state["check_rerun"] = {"id": snap.id, "report": new}
                st.rerun()
        render.verdict_banner(report)
        render.report_body(report)
    else:
        new = rerun["report"]
        d = diff_reports(report, new)
        with st.container(key="report-diff", border=True):
            st.markdown(f"**Since {_when(report.get('started_at'))}:** verdict {d.verdict_before.replace('_', ' ')} "
                        f"→ {d.verdict_after.replace('_', ' ')}")
            cols = st.columns(3)
            cols[0].metric("Fixed", len(d.fixed))
            cols[1].metric("New", len(d.new))
            cols[2].metric("Unchanged", len(d.unchanged))
            for label, codes in (("Fixed", d.fixed), ("New", d.new), ("Unchanged", d.unchanged)):
                if codes:
                    st.markdown(f"{label}: " + ", ".join(f"`{c}`" for c in codes))
            if not d.changed:
                st.caption("Nothing changed between the saved report and the new run.")
        st.markdown("### Latest run")
        render.verdict_banner(new)
        render.report_body(new)
        with st.expander(f"The saved report from {_when(report.get('started_at'))}"):
            render.verdict_banner(report, keyed=False)
            render.report_body(report, keyed=False)
        if st.button("Open the latest run as a normal check", key="check_open_latest"):
            st.session_state[state.CHECK_REPORT] = new
            st.session_state["check_meta"] = {"params": params.to_query(), "cached_age": None}
            st.session_state["check_applied"] = params.to_query()
            st.query_params.from_dict(params.to_query())
            st.rerun()
    browser = snap.meta.get("browser_check")
    if isinstance(browser, Mapping) and browser.get("summary_lines"):
        with st.expander("Browser self-check saved with this report"):
            st.text("\n".join(map(str, browser["summary_lines"])))
    st.divider()
    render.downloads(report, key="dl-saved")


def body() -> None:
    query = st.query_params.to_dict()
    if "report" in query:
        _snapshot(parse_report_id(query.get("report")))
        return
    autorun = _apply_link(ShareParams.from_query(query))
    submitted = _form()
    if submitted is not None:
        params, secret = submitted
        st.session_state["check_applied"] = params.to_query()
        st.query_params.from_dict(params.to_query())
        ran = _run(params, secret=secret)
        del secret  # this run's only copy
        if ran is not None:
            st.rerun()
    elif autorun:
        if _run(ShareParams.from_query(query)) is not None:
            st.rerun()

    report = st.session_state.get(state.CHECK_REPORT)
    if not report:
        st.markdown("Enter your Canvas address above. Connect Check tests, from the outside and the way Badgr's "
                    "servers do: the address, the certificate, that it is Canvas, who hosts it, and (when you "
                    "give them) your Developer Key and Badgr region. Every problem comes with the fix and who "
                    "does it.")
        return
    meta = st.session_state.get("check_meta") or {}
    params = ShareParams.from_query(meta.get("params") or {})
    if params.url and st.query_params.to_dict() != params.to_query():
        # The address bar reflects what is shown (it is empty after a visit to another
        # page); the form already holds these values, so this is not a link to run.
        st.query_params.from_dict(params.to_query())
        st.session_state["check_applied"] = params.to_query()
    if st.session_state.pop("check_secret_empty", False):
        st.info("You ticked \"Also verify my secret key\" but the Secret key field was empty, so the secret "
                "was not checked.", icon=":material/key:")
    if meta.get("secret_checked"):
        st.caption("Your secret key was tried once, in this run only, and was not kept. \"Check again now\", "
                   "the share link and a saved report do not repeat that step.")
    _show(report, params, meta.get("cached_age"))


with page_guard("check"):
    body()
