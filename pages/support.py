"""Support: check many Canvas URLs at once, and open a saved report by id.

Batch logic lives in diagnostics.batch (also ``python -m diagnostics batch``); this page
only collects the list, shows progress and the table. Session state: ``support_text``,
``support_concurrency``, ``support_rows``, ``support_errors``, ``support_report_id``.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from diagnostics import batch
from diagnostics.net import NetPolicy
from diagnostics.share import parse_report_id
from portal import checking
from portal.boundary import page_guard
from portal.render import md_escape

MAX_PAGE_BATCH = 200
_VERDICT_ORDER = {"blocked": 0, "invalid": 1, "error": 2, "rate_limited": 3, "action_needed": 4, "ready": 5}


def _open_report() -> None:
    with st.form("support_open_form", border=True):
        st.markdown("**Open a saved report**")
        value = st.text_input("Report link or ID", key="support_report_id",
                              help="Paste the link someone shared with you (…?report=…) or just the ID in it.")
        if st.form_submit_button("Open report"):
            report_id = parse_report_id(value)
            if report_id is None:
                st.error("That is not a saved-report link or ID. It looks like …/check?report=AbC123… .")
            else:
                st.switch_page("pages/check.py", query_params={"report": report_id})


def _batch_form() -> tuple[list[str], list[str], int] | None:
    with st.form("support_batch_form", border=True):
        st.markdown("**Check many Canvas URLs**")
        upload = st.file_uploader("CSV file of Canvas URLs", type=["csv", "txt"], key="support_upload",
                                  help="A spreadsheet export with a column named URL (or Canvas URL, host, domain), "
                                       "or a plain list, one address per line.")
        text = st.text_area("Or paste a list", key="support_text", height=140,
                            placeholder="school-a.instructure.com\nhttps://canvas.college-b.edu",
                            help="One Canvas address per line. Blank lines, bullets and duplicates are fine.")
        concurrency = st.slider("Checks at the same time", 1, 8, 4, key="support_concurrency",
                                help="More is faster; fewer is gentler on the network.")
        submitted = st.form_submit_button("Check all", type="primary")
    if not submitted:
        return None
    source = ""
    if upload is not None:
        source = upload.getvalue().decode("utf-8-sig", errors="replace")
    if text and text.strip():
        source = (source + "\n" + text) if source else text
    urls, errors = batch.parse_targets(source, limit=MAX_PAGE_BATCH)
    return urls, errors, concurrency


def _table(rows: list[dict]) -> None:
    frame = pd.DataFrame(rows, columns=list(batch.COLUMNS))
    frame["_order"] = frame["verdict"].map(_VERDICT_ORDER).fillna(9)
    frame = frame.sort_values(["_order", "url"]).drop(columns="_order")
    counts = frame["verdict"].value_counts().to_dict()
    st.markdown(" · ".join(f"**{k.replace('_', ' ')}**: {v}" for k, v in counts.items()))
    st.dataframe(
        frame, hide_index=True, width="stretch",
        column_config={
            "url": st.column_config.TextColumn("URL"),
            "verdict": st.column_config.TextColumn("Verdict"),
            "hosting": st.column_config.TextColumn("Hosting"),
            "environment": st.column_config.TextColumn("Environment"),
            "first_failing_code": st.column_config.TextColumn("First failing code"),
            "first_failing_title": st.column_config.TextColumn("What failed"),
            "problems": st.column_config.NumberColumn("Problems"),
            "origin": st.column_config.TextColumn("Checked address"),
            "elapsed_ms": st.column_config.NumberColumn("Time (ms)"),
            "error": st.column_config.TextColumn("Input problem"),
        },
    )
    st.download_button("Download table (CSV)", batch.rows_to_csv(rows), file_name="connect-check-batch.csv",
                       mime="text/csv", on_click="ignore", key="support_download",
                       help="The same table as a CSV file for a spreadsheet.")


def body() -> None:
    _open_report()
    asked = _batch_form()
    if asked is not None:
        urls, errors, concurrency = asked
        st.session_state["support_errors"] = errors
        if not urls:
            st.session_state.pop("support_rows", None)
            st.warning("No Canvas addresses found in the list." if not errors else
                       "None of the lines could be checked; see the notes below.", icon=":material/edit_note:")
        elif (refusal := checking.batch_turn()) is not None:
            st.warning(refusal, icon=":material/hourglass_top:")
        else:
            bar = st.progress(0.0, text=f"Checking {len(urls)} addresses, {concurrency} at a time …")

            def progress(done: int, total: int, row: dict) -> None:
                bar.progress(done / total, text=f"{done} of {total} checked (last: {md_escape(str(row.get('url', '')))})")

            rows = batch.run_batch(urls, concurrency=concurrency, policy=NetPolicy.from_env(), on_progress=progress,
                                   gate=checking.batch_gate())
            bar.progress(1.0, text=f"All {len(rows)} addresses checked.")
            st.session_state["support_rows"] = rows
    errors = st.session_state.get("support_errors") or []
    if errors:
        with st.expander(f"{len(errors)} line{'s' if len(errors) != 1 else ''} could not be used", expanded=True):
            st.code("\n".join(errors), language=None, wrap_lines=True)
    rows = st.session_state.get("support_rows")
    if rows:
        _table(rows)


with page_guard("support"):
    body()
