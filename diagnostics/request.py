"""The request to Badgr support: model, validation, and the email in four forms.

Two kinds of request (reference §1):

- ``hosted``: an Instructure-hosted Canvas that needs manual preauthorization. Support
  needs the Canvas URL *exactly as the message in Canvas showed it*, the environment
  (production, beta, test) and the Badgr region. No Developer Key.
- ``self_hosted``: a Canvas the institution runs. Support needs the Developer Key ID, its
  full 64-character secret, the server URL and the region; the server must have a valid
  certificate, so a request is refused while the attached check says TLS is not trusted.

Flow: the page fills an :class:`AccessRequest` (:func:`prefill` gives the starting
values), :func:`validate` returns one message per field, and the renderers
(:func:`render_email`, :func:`mailto_link`, :func:`eml_bytes`, :func:`to_json`) turn a
valid request into outputs; they raise :class:`InvalidRequest` for an invalid one, so no
output can carry a malformed ID or secret.

The secret appears only where the admin asked for it: the renderers take
``include_secret`` (default False, in which case the email says it will be sent
separately); it is never in a prefill, a link or a ``repr``.

Operator configuration (environment):

- ``CONNECT_CHECK_SUPPORT_EMAIL``: where requests go. Default ``help@badgr.com``: the
  reference does not name Badgr's support address, so set it in production.
- ``CONNECT_CHECK_REQUEST_TEMPLATE``: a text file replacing the default email. An
  optional first line ``Subject: ...``, then the body. ``$name`` placeholders
  (:class:`string.Template`, so a template can never reach into Python objects):
  ``$subject`` (subject line only), ``$kind_title``, ``$intro``, ``$fields``,
  ``$diagnostics`` (the check summary, then the browser self-check when one was run),
  ``$canvas_url``, ``$server``, ``$region``, ``$region_name``,
  ``$environment``, ``$client_id``, ``$contact_name``, ``$contact_email``,
  ``$institution``, ``$notes``. The secret has no placeholder of its own: it is only
  ever part of ``$fields``, and only when the admin opted in.
"""

from __future__ import annotations

import json
import logging
import os
import string
from dataclasses import dataclass, field, replace
from email import policy as _email_policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any, Mapping, NamedTuple
from urllib.parse import quote

import email_validator

from . import keys, regions as _regions, target as _target
from .model import Finding, Report, Status, utc_now_iso
from .share import REGIONS as _REGION_KEYS, clean_url

log = logging.getLogger(__name__)

__all__ = [
    "HOSTED",
    "SELF_HOSTED",
    "KINDS",
    "ENVIRONMENTS",
    "SUPPORT_EMAIL_ENV",
    "TEMPLATE_ENV",
    "DEFAULT_SUPPORT_EMAIL",
    "MAILTO_LIMIT",
    "AccessRequest",
    "Validation",
    "InvalidRequest",
    "Mailto",
    "validate",
    "tls_blockers",
    "coerce_report",
    "kind_from_report",
    "environment_from_host",
    "region_names",
    "prefill",
    "support_address",
    "render_email",
    "mailto_link",
    "eml_bytes",
    "to_json",
    "form_link",
]

HOSTED = "hosted"
SELF_HOSTED = "self_hosted"
KINDS = {
    HOSTED: "Instructure-hosted Canvas: preauthorization",
    SELF_HOSTED: "Self-hosted Canvas: connect with a Developer Key",
}
ENVIRONMENTS = ("production", "beta", "test")

SUPPORT_EMAIL_ENV = "CONNECT_CHECK_SUPPORT_EMAIL"
TEMPLATE_ENV = "CONNECT_CHECK_REQUEST_TEMPLATE"
DEFAULT_SUPPORT_EMAIL = "help@badgr.com"
#: Longest mailto: link we hand out; some mail clients and browsers cut links near 2000.
MAILTO_LIMIT = 1800
JSON_SCHEMA = 1

_MAX_NAME = 120
_MAX_INSTITUTION = 200
_MAX_NOTES = 1000
_MAX_PREFILL = 2048

DEFAULT_SUBJECT = "$subject"
DEFAULT_BODY = """Hello Badgr support,

$intro

$fields

$diagnostics

Thank you,
$contact_name
$institution
"""


# --------------------------------------------------------------------------- model
@dataclass(frozen=True)
class AccessRequest:
    """What the admin entered. Values are kept as typed; :func:`validate` cleans them.

    Attributes:
        kind: ``hosted`` or ``self_hosted``.
        canvas_url: hosted: the URL exactly as the preauthorization message showed it;
            self-hosted: the Canvas server address (any form :func:`target.parse` takes).
        region: Badgr region key (us, eu, ca, au, sg, test).
        contact_name, contact_email, institution: who asks.
        environment: hosted only: production, beta or test.
        client_id: self-hosted only: the Developer Key ID (a string, never an int).
        secret: self-hosted only: the Developer Key secret, or "" when sent separately.
            Hidden from ``repr``.
        redirect_uri: self-hosted only: the redirect URI entered in the key, or "".
        notes: anything else the admin wants to say, or "".
        browser_check: the portal's browser self-check result (``summary_lines`` and
            ``problems``, see portal/browser.py), or None; quoted in the email.
    """

    kind: str
    canvas_url: str = ""
    region: str = ""
    contact_name: str = ""
    contact_email: str = ""
    institution: str = ""
    environment: str = "production"
    client_id: str = ""
    secret: str = field(default="", repr=False)
    redirect_uri: str = ""
    notes: str = ""
    browser_check: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)

    @property
    def is_hosted(self) -> bool:
        return self.kind == HOSTED


@dataclass(frozen=True)
class Validation:
    """The outcome of :func:`validate`.

    Attributes:
        request: the request with cleaned values (trimmed, ID normalised, email
            normalised); the hosted Canvas URL stays exactly as typed, minus outer spaces.
        errors: field name -> one sentence; any entry blocks every output. Fields are the
            AccessRequest attribute names plus ``tls`` (the attached check says the
            certificate is not trusted).
        warnings: field name -> one sentence; shown, never blocking.
        server: the normalised origin (https://host[:port]) of the Canvas URL, or "".
        report: the attached report when it is for this server, else None.
    """

    request: AccessRequest
    errors: Mapping[str, str]
    warnings: Mapping[str, str]
    server: str = ""
    report: Report | None = None

    @property
    def ok(self) -> bool:
        return not self.errors


class InvalidRequest(ValueError):
    """A renderer was given a request that does not validate; ``errors`` says why."""

    def __init__(self, errors: Mapping[str, str]):
        self.errors = dict(errors)
        super().__init__("The request is not complete: " + " ".join(self.errors.values()))


class Mailto(NamedTuple):
    """A ``mailto:`` link, or None with the reason when the email is too long for one.

    ``shortened`` is True when the diagnostic summary was cut to its codes to fit.
    """

    url: str | None
    reason: str
    shortened: bool = False


# --------------------------------------------------------------------------- helpers
def coerce_report(report: Report | Mapping[str, Any] | None) -> Report | None:
    """A Report from a Report or its dict form (session state keeps dicts); None if unusable."""
    if report is None or isinstance(report, Report):
        return report
    if isinstance(report, Mapping):
        try:
            return Report.from_dict(report)
        except (KeyError, TypeError, ValueError):
            return None
    return None


def kind_from_report(report: Report | Mapping[str, Any] | None) -> str | None:
    """``hosted`` or ``self_hosted`` from the report's hosting block, else None."""
    r = coerce_report(report)
    if r is None:
        return None
    return {"instructure": HOSTED, "self_hosted": SELF_HOSTED}.get(r.hosting.kind)


def environment_from_host(host: str) -> str | None:
    """production/beta/test for names under instructure.com, else None (custom domains)."""
    host = host.lower().rstrip(".")
    for suffix, env in ((".beta.instructure.com", "beta"), (".test.instructure.com", "test"),
                        (".instructure.com", "production")):
        if host.endswith(suffix):
            return env
    return None


def region_names() -> dict[str, str]:
    """Region key -> "Europe (Ireland) — eu.badgr.com"; the six keys alone if the regions
    file is broken (the request page must still work)."""
    try:
        loaded = _regions.load()
    except _regions.RegionsError:
        return {k: k for k in _REGION_KEYS}
    return {k: f"{r.name} \u2014 {r.web}" for k, r in loaded.items()}


def _region_of_host(host: str) -> str | None:
    """Which region a Badgr host (web or API, or a subdomain of one) belongs to."""
    try:
        loaded = _regions.load()
    except _regions.RegionsError:
        return None
    best: tuple[int, str] | None = None
    for key, r in loaded.items():
        for h in (r.web, r.api_host):
            if host == h or host.endswith("." + h):
                if best is None or len(h) > best[0]:
                    best = (len(h), key)
    return best[1] if best else None


def tls_blockers(report: Report | Mapping[str, Any] | None) -> list[Finding]:
    """Failed certificate findings (every ``tls.*`` fail): Badgr will not connect."""
    r = coerce_report(report)
    if r is None:
        return []
    return [f for f in r.findings if f.code.startswith("tls.") and f.status == Status.FAIL]


def _same_server(report: Report, server: _target.Target) -> bool:
    return report.target.host == server.host and report.target.port == server.port


def _clean_text(text: object, limit: int) -> tuple[str, str | None]:
    """Trimmed one-line text and an error sentence (control characters, too long) or None."""
    s = text.strip() if isinstance(text, str) else ""
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in s):
        return s, "Use a single line with no special characters."
    if len(s) > limit:
        return s, f"Keep it under {limit} characters."
    return s, None


def _clean_url_text(text: object) -> str:
    return text.strip() if isinstance(text, str) else ""


# --------------------------------------------------------------------------- validation
def validate(req: AccessRequest, report: Report | Mapping[str, Any] | None = None,
             include_secret: bool = False) -> Validation:
    """One clear message per field; a self-hosted request for a server whose attached
    check found the certificate untrusted gets a ``tls`` error."""
    errors: dict[str, str] = {}
    warnings: dict[str, str] = {}
    attached = coerce_report(report)

    kind = req.kind if req.kind in KINDS else ""
    if not kind:
        errors["kind"] = "Choose whether your Canvas is hosted by Instructure or by your institution."

    # Canvas URL: every form target.parse takes; the hosted one is sent exactly as typed.
    canvas_url = _clean_url_text(req.canvas_url)
    server: _target.Target | None = None
    if not canvas_url:
        errors["canvas_url"] = ("Paste the Canvas URL exactly as the message in Canvas shows it."
                                if kind == HOSTED else
                                "Enter your Canvas server address, for example https://canvas.myschool.edu.")
    else:
        try:
            server = _target.parse(canvas_url)
        except _target.TargetError as exc:
            errors["canvas_url"] = str(exc)

    region = req.region.strip().lower() if isinstance(req.region, str) else ""
    names = region_names()
    if not region:
        errors["region"] = "Choose the Badgr region your Badgr account is on (the address you log in to)."
    elif region not in names:
        errors["region"] = f"Choose one of the Badgr regions: {', '.join(names)}."

    contact_name, problem = _clean_text(req.contact_name, _MAX_NAME)
    if not contact_name:
        errors["contact_name"] = "Enter your name, so support knows whom to answer."
    elif problem:
        errors["contact_name"] = problem

    contact_email = req.contact_email.strip() if isinstance(req.contact_email, str) else ""
    if not contact_email:
        errors["contact_email"] = "Enter your email address, so support can answer you."
    else:
        try:
            contact_email = email_validator.validate_email(contact_email, check_deliverability=False).normalized
        except email_validator.EmailNotValidError as exc:
            errors["contact_email"] = str(exc)

    institution, problem = _clean_text(req.institution, _MAX_INSTITUTION)
    if not institution:
        errors["institution"] = "Enter your institution's name."
    elif problem:
        errors["institution"] = problem

    notes = req.notes.strip() if isinstance(req.notes, str) else ""
    if len(notes) > _MAX_NOTES:
        errors["notes"] = f"Keep the note under {_MAX_NOTES} characters; attach longer material to the email."

    environment = req.environment.strip().lower() if isinstance(req.environment, str) else ""
    client_id = keys.normalise_client_id(req.client_id)
    secret = keys.normalise_secret(req.secret)
    redirect_uri = _clean_url_text(req.redirect_uri)

    # The attached check counts only when it is for this server.
    if attached is not None and server is not None and not _same_server(attached, server):
        warnings["report"] = (f"The last check was for {attached.target.host}, not {server.host}, so its "
                              "results are not attached: check this address first if you can.")
        attached = None
    elif server is None:
        attached = None

    if kind == HOSTED:
        if environment not in ENVIRONMENTS:
            errors["environment"] = "Choose the environment: production, beta or test."
        elif server is not None:
            named = environment_from_host(server.host)
            if named and named != environment:
                errors["environment"] = (f"{server.host} is a {named} address, not {environment}: "
                                         f"choose {named}, or paste the {environment} URL.")
            elif attached is not None and attached.hosting.environment and attached.hosting.environment != environment:
                warnings["environment"] = (f"The last check found a {attached.hosting.environment} "
                                           f"instance; you chose {environment}.")
        if attached is not None and attached.hosting.kind == "self_hosted":
            warnings["kind"] = ("The last check found a self-hosted Canvas: self-hosted Canvas needs a "
                                "Developer Key request instead.")
    elif kind == SELF_HOSTED:
        environment = ""
        for p in keys.check_client_id(client_id):
            (errors if p.is_error else warnings).setdefault("client_id", p.message)
        if secret:
            secret_errors = keys.errors_only(keys.check_secret(secret))
            if secret_errors:
                errors["secret"] = secret_errors[0].message
        elif include_secret:
            errors["secret"] = ("Paste the secret (Show Key in Admin > Developer Keys), or choose to "
                                "send it separately.")
        if redirect_uri:
            problem_text = _redirect_uri_problem(redirect_uri, region)
            if problem_text:
                (errors if problem_text[0] == "error" else warnings)["redirect_uri"] = problem_text[1]
        else:
            warnings["redirect_uri"] = ("Paste the redirect URI you entered in the Developer Key, so "
                                        "support can check it matches your region.")
        if server is not None and environment_from_host(server.host):
            warnings["kind"] = (f"{server.host} is hosted by Instructure: hosted Canvas needs no Developer "
                                "Key; choose the hosted request instead.")
        elif attached is not None and attached.hosting.kind == "instructure":
            warnings["kind"] = ("The last check found an Instructure-hosted Canvas: hosted Canvas needs "
                                "no Developer Key; choose the hosted request instead.")
        blockers = tls_blockers(attached)
        if blockers:
            names_text = "; ".join(f"{f.title} ({f.code})" for f in blockers)
            errors["tls"] = ("Badgr requires a valid, trusted certificate on your Canvas server, and the "
                             f"last check found: {names_text}. Fix the certificate and check again "
                             "before sending this request.")
        elif attached is None and "report" not in warnings:
            warnings["report"] = ("No check is attached: check your Canvas first, so support sees that "
                                  "Badgr can reach it and trust its certificate.")

    cleaned = replace(
        req,
        kind=kind,
        canvas_url=canvas_url,
        region=region,
        contact_name=contact_name,
        contact_email=contact_email,
        institution=institution,
        environment=environment if kind == HOSTED else "",
        client_id=client_id if kind == SELF_HOSTED else "",
        secret=secret if kind == SELF_HOSTED else "",
        redirect_uri=redirect_uri if kind == SELF_HOSTED else "",
        notes=notes,
    )
    return Validation(cleaned, errors, warnings, server.origin if server else "", attached)


def _redirect_uri_problem(uri: str, region: str) -> tuple[str, str] | None:
    if any(c.isspace() for c in uri):
        return ("error", "A redirect URI has no spaces in it: paste just the address.")
    if not uri.lower().startswith("https://"):
        return ("error", "Paste the redirect URI exactly as Badgr support gave it, starting with https://.")
    try:
        host = _target.parse(uri).host
    except _target.TargetError as exc:
        return ("error", str(exc))
    owner = _region_of_host(host)
    if owner and region and owner != region:
        return ("warning", f"This redirect URI belongs to the {owner} region, but you chose {region}: "
                           "a key approved for one region does not work with another.")
    return None


def _require_valid(req: AccessRequest, report: Report | Mapping[str, Any] | None,
                   include_secret: bool) -> Validation:
    v = validate(req, report, include_secret)
    if not v.ok:
        raise InvalidRequest(v.errors)
    return v


# --------------------------------------------------------------------------- configuration
def support_address(environ: Mapping[str, str] | None = None) -> str:
    """The configured support address (``CONNECT_CHECK_SUPPORT_EMAIL``), or the default."""
    env = os.environ if environ is None else environ
    value = (env.get(SUPPORT_EMAIL_ENV) or "").strip()
    if value:
        try:
            # An operator may use an internal or test domain (.test, .local): allow them.
            return email_validator.validate_email(value, check_deliverability=False,
                                                  globally_deliverable=False, test_environment=True).normalized
        except email_validator.EmailNotValidError as exc:
            # A broken setting must not break the page: say so in the log, use the default.
            log.warning("%s=%r is not a usable address (%s); using %s", SUPPORT_EMAIL_ENV, value, exc,
                        DEFAULT_SUPPORT_EMAIL)
    return DEFAULT_SUPPORT_EMAIL


def _template(environ: Mapping[str, str] | None = None) -> tuple[string.Template, string.Template]:
    env = os.environ if environ is None else environ
    path = (env.get(TEMPLATE_ENV) or "").strip()
    subject, body = DEFAULT_SUBJECT, DEFAULT_BODY
    if path:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            text = ""  # unreadable: use the default rather than send nothing
        if text.strip():
            first, _, rest = text.partition("\n")
            if first.lower().startswith("subject:"):
                subject, body = first.split(":", 1)[1].strip() or DEFAULT_SUBJECT, rest.lstrip("\n")
            else:
                body = text
    return string.Template(subject), string.Template(body)


# --------------------------------------------------------------------------- rendering
def _summary_lines(report: Report | None, compact: bool = False) -> list[str]:
    if report is None:
        return ["Diagnostic summary: no Connect Check result is attached."]
    lines = [f"Diagnostic summary (Connect Check, checked {report.started_at}):",
             f"- Server checked: {report.target.origin}",
             f"- Verdict: {report.verdict.value}"]
    if report.hosting.kind != "unknown":
        env = f" ({report.hosting.environment})" if report.hosting.environment else ""
        lines.append(f"- Hosting: {report.hosting.kind}{env}")
    failed = [f for f in report.findings if f.status in (Status.FAIL, Status.ERROR)]
    warned = [f for f in report.findings if f.status == Status.WARN]
    if compact:
        if failed:
            lines.append("- Failed: " + ", ".join(f.code for f in failed))
        if warned:
            lines.append("- Warnings: " + ", ".join(f.code for f in warned))
    else:
        for label, group in (("Failed", failed), ("Warnings", warned)):
            if group:
                lines.append(f"- {label}:")
                for f in group:
                    status = " (could not run)" if f.status == Status.ERROR else ""
                    lines.append(f"  - {f.code}: {f.title}{status}")
    if not failed and not warned:
        lines.append("- No failed or warned findings.")
    return lines


def _browser_lines(check: Mapping[str, Any] | None, compact: bool = False) -> list[str]:
    """The browser self-check as a few plain lines (empty when none was run)."""
    if not isinstance(check, Mapping):
        return []
    problems = [" ".join(str(p).split())[:300] for p in list(check.get("problems") or [])[:8]]
    head = f"Browser self-check (the admin's browser, {str(check.get('checked_at', ''))[:20]}):"
    if compact:
        return [f"{head} {len(problems) or 'no'} problem{'s' if len(problems) != 1 else ''} found."]
    lines = [head] + [f"- {' '.join(str(x).split())[:200]}" for x in list(check.get("summary_lines") or [])[:12]]
    lines += [f"- Problem: {p}" for p in problems]
    return lines


def _fields(v: Validation, include_secret: bool) -> list[str]:
    r = v.request
    region = f"{r.region} ({region_names().get(r.region, r.region)})"
    if r.is_hosted:
        lines = [f"Canvas URL (exactly as the message showed it): {r.canvas_url}"]
        if v.server and v.server != r.canvas_url:
            lines.append(f"Canvas server: {v.server}")
        lines += [f"Environment: {r.environment}", f"Badgr region: {region}"]
    else:
        lines = [f"Canvas server URL: {v.server}",
                 f"Developer Key ID: {r.client_id}",
                 f"Secret key: {r.secret}" if include_secret and r.secret
                 else "Secret key: not in this email; I will send it separately.",
                 f"Redirect URI in the key: {r.redirect_uri or '(not given)'}",
                 f"Badgr region: {region}"]
    lines += [f"Institution: {r.institution}", f"Contact: {r.contact_name} <{r.contact_email}>"]
    if r.notes:
        lines += ["", "Notes:", r.notes]
    return lines


def _values(v: Validation, include_secret: bool, compact: bool = False) -> dict[str, str]:
    r = v.request
    if r.is_hosted:
        subject = f"Badgr preauthorization request: {r.canvas_url} ({r.environment}, region {r.region})"
        intro = (f"Please preauthorize our Instructure-hosted Canvas for Badgr in the {r.region} region. "
                 "The Canvas URL below is exactly as the message in Canvas showed it.")
    else:
        subject = f"Badgr connection request (self-hosted Canvas): {v.server} (region {r.region})"
        intro = (f"Please connect our self-hosted Canvas to Badgr in the {r.region} region with the "
                 "Developer Key below.")
    return {
        "subject": subject,
        "kind_title": KINDS[r.kind],
        "intro": intro,
        "fields": "\n".join(_fields(v, include_secret)),
        "diagnostics": "\n".join(_summary_lines(v.report, compact)
                                 + ([""] + _browser_lines(r.browser_check, compact) if r.browser_check else [])),
        "canvas_url": r.canvas_url,
        "server": v.server,
        "region": r.region,
        "region_name": region_names().get(r.region, r.region),
        "environment": r.environment,
        "client_id": r.client_id,
        "contact_name": r.contact_name,
        "contact_email": r.contact_email,
        "institution": r.institution,
        "notes": r.notes,
    }


def _render(v: Validation, include_secret: bool, compact: bool = False,
            environ: Mapping[str, str] | None = None) -> tuple[str, str]:
    subject_t, body_t = _template(environ)
    values = _values(v, include_secret, compact)
    subject = " ".join(subject_t.safe_substitute(values).split())  # one line, always
    body = body_t.safe_substitute(values).strip() + "\n"
    return subject, body


def render_email(req: AccessRequest, report: Report | Mapping[str, Any] | None = None,
                 include_secret: bool = False, *, environ: Mapping[str, str] | None = None) -> tuple[str, str]:
    """(subject, body) of the email; the secret only when ``include_secret``."""
    v = _require_valid(req, report, include_secret)
    return _render(v, include_secret, environ=environ)


def _mailto(to: str, subject: str, body: str) -> str:
    # RFC 6068: percent-encode everything outside unreserved; line breaks as %0D%0A.
    body = body.replace("\r\n", "\n").replace("\n", "\r\n")
    return f"mailto:{quote(to, safe='@')}?subject={quote(subject, safe='')}&body={quote(body, safe='')}"


def mailto_link(req: AccessRequest, report: Report | Mapping[str, Any] | None = None,
                include_secret: bool = False, *, to: str | None = None, limit: int = MAILTO_LIMIT,
                environ: Mapping[str, str] | None = None) -> Mailto:
    """A ``mailto:`` link to support, or ``Mailto(None, reason)`` when it cannot fit in
    ``limit`` characters even with the diagnostic summary cut to its codes."""
    v = _require_valid(req, report, include_secret)
    to = to or support_address(environ)
    url = _mailto(to, *_render(v, include_secret, environ=environ))
    if len(url) <= limit:
        return Mailto(url, "")
    url = _mailto(to, *_render(v, include_secret, compact=True, environ=environ))
    if len(url) <= limit:
        return Mailto(url, "The diagnostic summary was shortened to its codes to fit in an email link; "
                           "the .eml download has it in full.", True)
    return Mailto(None, f"This email is too long for an email link ({len(url)} characters; mail programs "
                        f"accept about {limit}). Copy the text below or download the .eml instead.")


def eml_bytes(req: AccessRequest, report: Report | Mapping[str, Any] | None = None,
              include_secret: bool = False, *, to: str | None = None,
              environ: Mapping[str, str] | None = None) -> bytes:
    """A ready-to-send email file: To support, From the contact, the report JSON attached.

    ``X-Unsent: 1`` makes Outlook (and others) open it as a draft to send.
    """
    v = _require_valid(req, report, include_secret)
    subject, body = _render(v, include_secret, environ=environ)
    r = v.request
    # An internationalised address (allowed by email-validator) needs the SMTPUTF8 policy.
    msg = EmailMessage(policy=_email_policy.SMTP.clone(utf8=not r.contact_email.isascii()))
    msg["To"] = to or support_address(environ)
    msg["From"] = Address(display_name=r.contact_name, addr_spec=r.contact_email)
    msg["Subject"] = subject
    msg["Date"] = format_datetime(_now())
    msg["X-Unsent"] = "1"
    msg["X-Connect-Check-Kind"] = r.kind
    msg.set_content(body)
    if v.report is not None:
        msg.add_attachment(v.report.to_json().encode("utf-8"), maintype="application", subtype="json",
                           filename="connect-check-report.json")
    return msg.as_bytes()


def _now():  # a seam for tests
    import datetime as _dt

    return _dt.datetime.now(_dt.timezone.utc)


def to_json(req: AccessRequest, report: Report | Mapping[str, Any] | None = None,
            include_secret: bool = False, *, environ: Mapping[str, str] | None = None) -> str:
    """The request as JSON for tickets and tools. No ``secret`` key unless
    ``include_secret`` (the page never sets it: the secret never lands in a JSON file)."""
    v = _require_valid(req, report, include_secret)
    r = v.request
    body: dict[str, Any] = {
        "schema": JSON_SCHEMA,
        "kind": r.kind,
        "created_at": utc_now_iso(),
        "to": support_address(environ),
        "canvas_url": r.canvas_url,
        "server": v.server,
        "region": r.region,
        "institution": r.institution,
        "contact": {"name": r.contact_name, "email": r.contact_email},
    }
    if r.is_hosted:
        body["environment"] = r.environment
    else:
        body["client_id"] = r.client_id  # a string: it exceeds 2**53
        body["redirect_uri"] = r.redirect_uri or None
        body["secret_included"] = bool(include_secret and r.secret)
        if include_secret and r.secret:
            body["secret"] = r.secret
    if r.notes:
        body["notes"] = r.notes
    if isinstance(r.browser_check, Mapping):
        body["browser_check"] = {"checked_at": r.browser_check.get("checked_at"),
                                 "summary_lines": list(r.browser_check.get("summary_lines") or []),
                                 "problems": list(r.browser_check.get("problems") or [])}
    rep = v.report
    body["diagnostics"] = None if rep is None else {
        "checked_at": rep.started_at,
        "server": rep.target.origin,
        "verdict": rep.verdict.value,
        "hosting": rep.hosting.to_dict(),
        "problems": [{"code": f.code, "status": f.status.value, "title": f.title} for f in rep.problems()],
    }
    return json.dumps(body, indent=2, ensure_ascii=False)


# --------------------------------------------------------------------------- prefill and links
def _first(query: Mapping[str, Any], key: str) -> str:
    value = query.get(key, "")
    if isinstance(value, (list, tuple)):
        value = value[0] if value else ""
    return value.strip()[:_MAX_PREFILL] if isinstance(value, str) else ""


def _digits(value: object) -> str:
    """A key ID fit to prefill or put in a link (digits only, capped), else ""."""
    cid = keys.normalise_client_id(value)
    return cid if cid.isascii() and cid.isdigit() and len(cid) <= 24 else ""


def prefill(query: Mapping[str, Any] | None = None, check_report: Report | Mapping[str, Any] | None = None,
            explain_extracted: Mapping[str, Any] | None = None) -> dict[str, str]:
    """Starting values for the form: the link first, then the last check, then the
    explainer. Keys: kind, canvas_url, region, environment, client_id, redirect_uri (only
    those found). Never a secret: no source is asked for one and only allow-listed keys
    are read."""
    query = query or {}
    extracted = explain_extracted if isinstance(explain_extracted, Mapping) else {}
    report = coerce_report(check_report)
    out: dict[str, str] = {}

    as_shown = clean_url(_first(query, "canvas_url_as_shown"))
    url = clean_url(_first(query, "url"))
    # The kind: the last check knows best; a key ID in the link means self-hosted (hosted
    # Canvas needs none); a name under instructure.com means hosted; else the admin picks.
    kind = kind_from_report(report)
    if not kind and _digits(_first(query, "client_id")):
        kind = SELF_HOSTED
    for candidate in (url, as_shown):
        if kind or not candidate:
            continue
        try:
            kind = HOSTED if environment_from_host(_target.parse(candidate).host) else None
        except _target.TargetError:
            kind = None
    if kind:
        out["kind"] = kind

    explained = clean_url(extracted.get("canvas_url") if isinstance(extracted.get("canvas_url"), str) else "")
    checked = report.target.input if report is not None else ""
    if kind != SELF_HOSTED:
        candidates = (as_shown, explained, url, clean_url(checked))
    else:
        candidates = (url, clean_url(report.target.origin) if report else "", explained, as_shown)
    for candidate in candidates:
        if candidate:
            out["canvas_url"] = candidate
            break

    region = _first(query, "region").lower()
    if region in region_names():
        out["region"] = region

    env = _first(query, "env").lower()
    if env not in ENVIRONMENTS:
        env = (report.hosting.environment or "") if report is not None else ""
    if env not in ENVIRONMENTS and out.get("canvas_url"):
        try:
            env = environment_from_host(_target.parse(out["canvas_url"]).host) or ""
        except _target.TargetError:
            env = ""
    if env in ENVIRONMENTS:
        out["environment"] = env

    for candidate in (_first(query, "client_id"), extracted.get("client_id")):
        cid = _digits(candidate)
        if cid:
            out["client_id"] = cid
            break

    redirect = extracted.get("redirect_uri")
    if isinstance(redirect, str) and redirect.strip():
        out["redirect_uri"] = clean_url(redirect, keep_query=True)
    elif out.get("region"):
        try:
            configured = _regions.get(out["region"])
        except _regions.RegionsError:
            configured = None
        if configured is not None and configured.redirect_uri:
            out["redirect_uri"] = configured.redirect_uri
    return out


def form_link(base_url: str, req: AccessRequest) -> str:
    """A link that opens this form prefilled (for a colleague or support). Carries only
    allow-listed, non-secret values: never the secret, never contact details."""
    from urllib.parse import urlencode

    params: dict[str, str] = {}
    url = clean_url(req.canvas_url)
    if url:
        params["canvas_url_as_shown" if req.is_hosted else "url"] = url
    if req.region.strip().lower() in region_names():
        params["region"] = req.region.strip().lower()
    if req.is_hosted and req.environment in ENVIRONMENTS:
        params["env"] = req.environment
    cid = _digits(req.client_id)
    if not req.is_hosted and cid:
        params["client_id"] = cid
    base = base_url.split("?", 1)[0].split("#", 1)[0]
    query = urlencode(params)
    return f"{base}?{query}" if query else base
