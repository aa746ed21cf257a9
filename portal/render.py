"""Rendering a report: verdict banner, findings grouped by step, evidence, downloads.

Stable hooks for automation (DESIGN/issue 6): the banner is ``st.container(key=
"verdict-<verdict>")`` and each finding ``st.container(key="finding-<code with - for .>")``,
which Streamlit exposes as the CSS classes ``st-key-verdict-...`` / ``st-key-finding-...``.
Only one keyed rendering of a report may be on a page at a time; secondary copies
(a saved report under a re-run) pass ``keyed=False``.

Text from servers (details, evidence) is shown with st.text / st.code / tables / JSON,
never as HTML; titles, summaries and fixes come from our own catalog.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

import pandas as pd
import streamlit as st

from .summary import (STATUS_ICONS, STATUS_LABELS, container_key, group_by_step, markdown_summary, owner_label,
                      report_filename, verdict_view)

__all__ = ["md_escape", "verdict_banner", "finding_card", "finding_line", "report_body", "downloads", "certificate_table"]

_PROBLEM = ("fail", "error", "warn")


def md_escape(text: str) -> str:
    """Text we did not write, made inert for st.markdown (used only in captions)."""
    out = str(text)
    for ch in "\\`*_{}[]()#+-.!|<>~$":
        out = out.replace(ch, "\\" + ch)
    return out


def verdict_banner(report: Mapping[str, Any], *, keyed: bool = True) -> None:
    v = verdict_view(report)
    box = st.container(key=f"verdict-{v.verdict}" if keyed else None, border=True)
    with box:
        body = f"**{v.headline}** — {v.sentence}"
        if v.verdict == "ready":
            st.success(body, icon=":material/check_circle:")
        elif v.verdict == "action_needed":
            st.warning(body, icon=":material/warning:")
        else:
            st.error(body, icon=":material/block:")
        if v.next_step:
            st.markdown("**Next step:** " + v.next_step + (f"  \n*Who does it:* {v.next_owner}" if v.next_owner else ""))


def finding_line(f: Mapping[str, Any]) -> None:
    """Compact line for the live view while a check runs."""
    status = str(f.get("status"))
    ms = f.get("elapsed_ms")
    st.markdown(f"{STATUS_ICONS.get(status, '•')} {f.get('title', '')}" + (f" · {ms} ms" if ms is not None else ""))
    if f.get("detail"):
        st.caption(md_escape(str(f["detail"])))


def _headers_table(headers: Mapping[str, Any]) -> None:
    rows = [{"header": str(k), "value": str(v)} for k, v in headers.items()]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


def certificate_table(tls: Mapping[str, Any] | None) -> bool:
    """The chain as the server sent it, one row per certificate; False when nothing to show."""
    if not isinstance(tls, Mapping):
        return False
    chain = next((tls[k] for k in ("chain", "certificates", "sent_chain", "certs") if isinstance(tls.get(k), list)), None)
    shown = False
    if chain:
        rows = []
        for i, cert in enumerate(chain):
            if isinstance(cert, Mapping):
                row = {"#": cert.get("position", i)}
                for k, v in cert.items():
                    if k in ("pem", "der", "position"):
                        continue
                    row[str(k)] = ", ".join(map(str, v)) if isinstance(v, (list, tuple)) else str(v)
                rows.append(row)
        if rows:
            st.dataframe(pd.DataFrame(rows).astype(str), hide_index=True, width="stretch")
            shown = True
    facts = {k: v for k, v in tls.items() if isinstance(v, (str, int, float, bool)) and k not in ("pem",)}
    if facts:
        st.dataframe(pd.DataFrame([{"fact": k, "value": str(v)} for k, v in facts.items()]), hide_index=True,
                     width="stretch")
        shown = True
    return shown


def _evidence(f: Mapping[str, Any], report: Mapping[str, Any]) -> None:
    evidence = f.get("evidence") or {}
    tls = (report.get("extras") or {}).get("tls")
    has_cert = f.get("step") == "certificate" and isinstance(tls, Mapping)
    if not evidence and not has_cert:
        return
    with st.expander("Evidence"):
        if has_cert:
            st.markdown("**Certificates as the server sent them**")
            certificate_table(tls)
        headers = evidence.get("headers") if isinstance(evidence, Mapping) else None
        if isinstance(headers, Mapping) and headers:
            st.markdown("**Response headers**")
            _headers_table(headers)
        if evidence:
            st.markdown("**Raw evidence**")
            st.json(evidence, expanded=False)


def finding_card(f: Mapping[str, Any], report: Mapping[str, Any], *, keyed: bool = True) -> None:
    code = str(f.get("code", ""))
    status = str(f.get("status", ""))
    box = st.container(key=container_key("finding", code) if keyed else None, border=True)
    with box:
        ms = f.get("elapsed_ms")
        meta = [STATUS_LABELS.get(status, status), f"`{code}`"]
        if ms is not None:
            meta.append(f"{ms} ms")
        if status in _PROBLEM and f.get("owner") not in (None, "", "none"):
            meta.append(f"Who fixes it: {owner_label(str(f['owner']))}")
        st.markdown(f"#### {STATUS_ICONS.get(status, '•')} {f.get('title', code)}")
        st.caption(" · ".join(meta))
        if f.get("summary"):
            st.markdown(str(f["summary"]))
        if f.get("detail"):
            st.text(str(f["detail"]))
        fixes = list(f.get("fix") or [])
        if fixes and status in _PROBLEM:
            st.markdown("**How to fix it**\n\n" + "\n".join(f"{i}. {step}" for i, step in enumerate(fixes, 1)))
        _evidence(f, report)


def report_body(report: Mapping[str, Any], *, keyed: bool = True, show_passed: bool = True) -> None:
    """Findings grouped by step in reading order; problems first inside each step."""
    order = {"fail": 0, "error": 1, "warn": 2, "info": 3, "pass": 4, "skip": 5}
    hosting = report.get("hosting") or {}
    target = report.get("target") or {}
    facts = [f"**Checked:** {target.get('origin', '')}", f"**When:** {report.get('started_at', '')}",
             f"**Took:** {(report.get('elapsed_ms') or 0) / 1000:.1f} s"]
    if hosting.get("kind") and hosting.get("kind") != "unknown":
        facts.append(f"**Hosting:** {hosting['kind'].replace('_', ' ')}"
                     + (f" ({hosting['environment']})" if hosting.get("environment") else ""))
    st.markdown(" · ".join(facts))
    for _step, title, items in group_by_step(report.get("findings", [])):
        items = sorted(items, key=lambda f: order.get(str(f.get("status")), 9))
        if not show_passed:
            items = [f for f in items if f.get("status") in _PROBLEM]
            if not items:
                continue
        st.subheader(title, divider="gray")
        for f in items:
            finding_card(f, report, keyed=keyed)


def downloads(report: Mapping[str, Any], *, share_link: str | None = None,
              browser_check: Mapping[str, Any] | None = None, key: str = "dl") -> None:
    """Report JSON, a Markdown summary, and the corrected chain PEM when there is one."""
    data = dict(report)
    if browser_check:
        data = {**data, "extras": {**(data.get("extras") or {}), "browser_check": dict(browser_check)}}
    cols = st.columns(3)
    cols[0].download_button("Download report (JSON)", json.dumps(data, indent=2, ensure_ascii=False),
                            file_name=report_filename(report, "json"), mime="application/json",
                            on_click="ignore", key=f"{key}-json", help="The full report, for support or your records.")
    cols[1].download_button("Download summary (Markdown)",
                            markdown_summary(report, share_link=share_link, browser_check=browser_check),
                            file_name=report_filename(report, "md"), mime="text/markdown", on_click="ignore",
                            key=f"{key}-md", help="A short summary to paste into a ticket or an email.")
    pem = (report.get("extras") or {}).get("fixed_chain_pem")
    if isinstance(pem, str) and "BEGIN CERTIFICATE" in pem:
        cols[2].download_button("Download corrected chain (PEM)", pem, file_name=report_filename(report, "pem"),
                                mime="application/x-pem-file", on_click="ignore", key=f"{key}-pem", type="primary",
                                help="The certificate chain your server should send, missing intermediate "
                                     "included. Give it to whoever installs the certificate on the server.")
