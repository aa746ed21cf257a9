"""Request access: a prefilled, validated request to Badgr support.

Layout only; every rule lives in diagnostics/request.py. Session state keys start with
``request_``. Reads (never writes) ``check_report`` (the Check page's Report dict) and
``explain_extracted`` (the Explain page's extracted values), and the link's query
parameters ``url``, ``client_id``, ``region``, ``env``, ``canvas_url_as_shown``. The
secret lives only in its password widget's state: never in the URL, a link or a log.
"""

from __future__ import annotations

import hashlib
import json
import traceback
from urllib.parse import urlencode

import streamlit as st

from diagnostics import request as rq
from portal.boundary import page_guard
from portal.sharebox import page_base_url

P = "request_"
FIELDS = ("canvas_url", "environment", "region", "client_id", "secret", "redirect_uri",
          "contact_name", "contact_email", "institution", "notes")
SEPARATELY, INCLUDE = "separately", "include"
SECRET_CHOICES = {
    SEPARATELY: "Leave the secret out; I'll send it separately",
    INCLUDE: "Include the secret in this email",
}
# Query keys that could only be there to carry a credential: removed from the address bar.
_SENSITIVE_QUERY = ("secret", "api_key", "client_secret", "token", "password")


def _key(name: str) -> str:
    return P + name


def _drop_sensitive_query() -> None:
    for name in list(st.query_params.keys()):
        if any(word in name.lower() for word in _SENSITIVE_QUERY):
            del st.query_params[name]


def _seed(prefill: dict[str, str]) -> None:
    """Put prefill values into fields that have none yet (a field the admin cleared stays
    cleared); new prefill (another check, another link) replaces earlier values."""
    signature = hashlib.sha256(json.dumps(prefill, sort_keys=True).encode()).hexdigest()
    changed = st.session_state.get(_key("prefill_sig")) != signature
    st.session_state[_key("prefill_sig")] = signature
    for name, value in prefill.items():
        if name == "kind":
            continue
        k = _key(name)
        if changed or k not in st.session_state:
            st.session_state[k] = value
    if "kind" in prefill and (changed or _key("kind") not in st.session_state):
        st.session_state[_key("kind")] = prefill["kind"]
    st.session_state.setdefault(_key("kind"), rq.HOSTED)


def _value(name: str) -> str:
    v = st.session_state.get(_key(name))
    return v if isinstance(v, str) else ""


def _current_request() -> rq.AccessRequest:
    # The browser self-check (Browser self-check page), when run in this session, goes in the email.
    browser = st.session_state.get("browser_check")
    return rq.AccessRequest(kind=_value("kind"), **{name: _value(name) for name in FIELDS},
                            browser_check=browser if isinstance(browser, dict) else None)


def _unbuild() -> None:
    st.session_state[_key("built")] = False


def _build() -> None:
    st.session_state[_key("built")] = True


def _say(validation: rq.Validation | None, field: str) -> None:
    """The field's error (or warning) right under it."""
    if validation is None:
        return
    if field in validation.errors:
        st.error(validation.errors[field])
    elif field in validation.warnings:
        st.caption(f":orange[{validation.warnings[field]}]")


def _radio(label: str, name: str, options: list[str], labels: dict[str, str], default: str | None = None,
           **kw) -> None:
    """A radio bound to ``request_<name>``; no option is picked unless prefilled or defaulted."""
    k = _key(name)
    if st.session_state.get(k) not in options:
        st.session_state.pop(k, None)
        if default is not None:
            st.session_state[k] = default
    # format_func must pickle (session state is serialised): a dict's bound .get does.
    st.radio(label, options, format_func=labels.get, key=k,
             index=0 if k in st.session_state else None, **kw)


def _fields(kind: str, v: rq.Validation | None) -> None:
    hosted = kind == rq.HOSTED
    st.text_input(
        "Canvas URL", key=_key("canvas_url"),
        placeholder="https://myschool.instructure.com" if hosted else "https://canvas.myschool.edu",
        help=("Exactly as the message in Canvas showed it: Badgr support matches it character by character."
              if hosted else "The address of your Canvas server."),
    )
    _say(v, "canvas_url")
    if hosted:
        _radio("Environment", "environment", list(rq.ENVIRONMENTS),
               {e: e.capitalize() for e in rq.ENVIRONMENTS}, default="production", horizontal=True,
               help="Production is the Canvas everyone uses; beta and test are the copies at "
                    "….beta.instructure.com and ….test.instructure.com.")
        _say(v, "environment")
    else:
        st.text_input("Developer Key ID", key=_key("client_id"), placeholder="10000000000003",
                      help="Admin > Developer Keys: the number under Details.")
        _say(v, "client_id")
        st.text_input("Secret key", key=_key("secret"), type="password",
                      help="Click Show Key in Admin > Developer Keys and copy all 64 characters. "
                           "It is checked here and included only if you choose so below.")
        _say(v, "secret")
        _radio("How will support get the secret?", "secret_choice", [SEPARATELY, INCLUDE], SECRET_CHOICES,
               default=SEPARATELY,
               help="Badgr support needs the secret to connect your Canvas. Sending it separately keeps it "
                    "out of this email.")
        st.caption("Email is not a secure channel: anyone who can read the message can use the key. "
                   "Sending the secret separately (by phone, or a secure channel support offers) is safer.")
        st.text_input("Redirect URI", key=_key("redirect_uri"),
                      help="The redirect URI you entered in the Developer Key, as Badgr support gave it.")
        _say(v, "redirect_uri")
    names = rq.region_names()
    _radio("Badgr region", "region", list(names), names, horizontal=True,
           help="Where your Badgr account lives: the address you log in to. A Canvas approved "
                "for one region does not work with an account on another.")
    _say(v, "region")
    st.text_input("Your name", key=_key("contact_name"), autocomplete="name",
                  help="Who Badgr support should answer.")
    _say(v, "contact_name")
    st.text_input("Your email", key=_key("contact_email"), autocomplete="email",
                  help="Where Badgr support will reply; use your institution's address if you can.")
    _say(v, "contact_email")
    st.text_input("Institution", key=_key("institution"), autocomplete="organization",
                  help="The school, university or organisation this Canvas belongs to.")
    _say(v, "institution")
    st.text_area("Anything else support should know (optional)", key=_key("notes"), height=80,
                 help="For example the error you saw, or when the problem started. Do not paste the secret here.")
    _say(v, "notes")


def _outputs(req: rq.AccessRequest, report, include_secret: bool, v: rq.Validation) -> None:
    to = rq.support_address()
    subject, body = rq.render_email(req, report, include_secret)
    st.success(f"Your request is ready. Send it to {to}.")
    if include_secret and v.request.secret:
        st.warning("This email contains your secret. Send it only to Badgr support, and delete it "
                   "from your sent mail once the connection works.")
    mailto = rq.mailto_link(req, report, include_secret, to=to)
    if mailto.url:
        st.link_button("Open in my email program", mailto.url, type="primary")
        if mailto.reason:
            st.caption(mailto.reason)
    else:
        st.info(mailto.reason)
    st.caption("Or copy it (the copy button is at the top right of the box):")
    st.code(f"To: {to}\nSubject: {subject}\n\n{body}", language=None, wrap_lines=True)
    slug = "preauthorization" if req.kind == rq.HOSTED else "connection"
    cols = st.columns(2)
    with cols[0]:
        st.download_button("Download .eml", rq.eml_bytes(req, report, include_secret, to=to),
                           file_name=f"badgr-{slug}-request.eml", mime="message/rfc822",
                           key=_key("download_eml"), on_click="ignore")
    with cols[1]:
        # The JSON record never carries the secret, whatever was chosen for the email.
        st.download_button("Download .json", rq.to_json(req, report, include_secret=False),
                           file_name=f"badgr-{slug}-request.json", mime="application/json",
                           key=_key("download_json"), on_click="ignore")
    base = page_base_url("request")
    with st.expander("Link to this form, prefilled (no secret, no contact details)"):
        st.code(rq.form_link(base, req), language=None, wrap_lines=True)


def _tls_refusal(v: rq.Validation) -> None:
    st.error(v.errors["tls"])
    server = v.server or ""
    try:
        st.page_link("pages/check.py", label="Fix the certificate: open the check", icon="🔧",
                     query_params={"url": server} if server else None)
    except Exception:  # the Check page is not registered (page run on its own)
        st.markdown(f"[Fix the certificate: open the check](/check?{urlencode({'url': server})})")


def _body() -> None:
    _drop_sensitive_query()
    report = st.session_state.get("check_report")
    explained = st.session_state.get("explain_extracted")
    _seed(rq.prefill(dict(st.query_params), report, explained))

    st.header("Request access from Badgr support")
    st.radio("Where is your Canvas hosted?", list(rq.KINDS), format_func=rq.KINDS.get,
             key=_key("kind"), on_change=_unbuild,
             help="An address ending in instructure.com (or a Canvas run by Instructure under your own "
                  "name) is hosted by Instructure; a Canvas your IT team runs is self-hosted.")
    kind = _value("kind")
    if kind == rq.HOSTED:
        st.caption("Paste the Canvas URL exactly as the message in Canvas showed it. "
                   "No Developer Key is needed.")
    else:
        st.caption("Badgr needs the Developer Key's ID and its full secret, and a Canvas server with "
                   "a valid certificate.")

    built = bool(st.session_state.get(_key("built")))
    include_secret = kind == rq.SELF_HOSTED and _value("secret_choice") == INCLUDE
    req = _current_request()
    v = rq.validate(req, report, include_secret) if built else None

    with st.form(_key("form"), enter_to_submit=False):
        _fields(kind, v)
        st.form_submit_button("Build the request", type="primary", on_click=_build)

    if v is None:
        return
    if "report" in v.warnings:
        st.info(v.warnings["report"])
    if "kind" in v.warnings:
        st.info(v.warnings["kind"])
    if "tls" in v.errors:
        _tls_refusal(v)
    if set(v.errors) - {"tls"}:
        st.error("Fix the fields marked above, then build the request again.")
    if not v.ok:
        return
    _outputs(req, report, include_secret, v)


def _guarded_body() -> None:
    """The page body; an error whose text would carry the secret is replaced before
    page_guard logs it (the secret never reaches a log line)."""
    try:
        _body()
    except Exception as exc:
        secret = _value("secret").strip()
        if secret and secret in "".join(traceback.format_exception(exc)):
            raise RuntimeError(f"{type(exc).__name__} on the request page (details withheld: they "
                               "contained the Developer Key secret)") from None
        raise


with page_guard("request"):
    _guarded_body()
