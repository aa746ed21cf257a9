"""`python -m diagnostics check|explain|batch` - the command line contract in DESIGN.md.

Exit codes: 0 no finding failed, 1 a finding failed, 2 unusable input or arguments (one
plain line on stderr, never a traceback).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Sequence, TextIO

from . import __version__

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
REGIONS = ("us", "eu", "ca", "au", "sg", "test")

_ICONS = {"pass": "PASS", "info": "INFO", "warn": "WARN", "fail": "FAIL", "skip": "SKIP", "error": "ERR "}


class UsageError(Exception):
    """Bad arguments or input: printed as one line, exit 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one plain line instead of usage + error
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m diagnostics",
        description="Connect Check: can Badgr connect to this Canvas, and what exactly to fix.",
    )
    parser.add_argument("--version", action="version", version=f"Connect Check {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    check = sub.add_parser("check", help="check a Canvas URL live (DNS, TLS, Canvas, hosting, Developer Key, LTI, Badgr)",
                           description="Check a Canvas URL live and print every finding with its fix.")
    check.add_argument("url", help="the Canvas address as you would paste it (myschool.instructure.com, a full URL, ...)")
    check.add_argument("--json", action="store_true", help="print the report as JSON (the report contract in DESIGN.md)")
    check.add_argument("--region", choices=REGIONS, help="Badgr region your account is on (default: none, Badgr step skipped)")
    check.add_argument("--client-id", metavar="ID", help="Developer Key ID to probe against Canvas's OAuth endpoint")
    check.add_argument("--redirect-uri", metavar="URI", help="the redirect URI Badgr uses (given by Badgr support)")
    check.add_argument("--key-redirect-uri", metavar="URI", action="append", default=[],
                       help="a line of the key's \"Redirect URIs\" list, for matching advice (repeatable)")
    check.add_argument("--key-legacy-redirect-uri", metavar="URI",
                       help="the key's \"Redirect URI (Legacy)\" field, for matching advice")
    check.add_argument("--secret-stdin", action="store_true",
                       help="read the Developer Key secret from one line of standard input and verify it "
                            "(only over a validated TLS connection; never printed or stored)")
    _network_options(check)

    explain = sub.add_parser("explain", help="explain a pasted error message",
                             description="Explain an error message: cause, fix and who owns it.")
    explain.add_argument("file", nargs="?", default="-", help="file with the pasted text, or - for standard input (default)")
    explain.add_argument("--json", action="store_true", help="print the explanation as JSON (the explain contract)")

    batch = sub.add_parser("batch", help="check many Canvas URLs (CSV or one per line)",
                           description="Check many Canvas URLs with bounded concurrency and write a table.")
    batch.add_argument("file", help="CSV (a url column or the first column) or text with one URL per line; - for stdin")
    batch.add_argument("--out", metavar="RESULT.csv|RESULT.json", help="write the table here (default: CSV on stdout)")
    batch.add_argument("--concurrency", type=int, default=10, metavar="N", help="checks at once (1-50, default 10)")
    batch.add_argument("--region", choices=REGIONS, help="Badgr region for every check")
    _network_options(batch)
    return parser


def _network_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("network options (tests and operators; the web portal reads CONNECT_CHECK_* instead)")
    g.add_argument("--ca-bundle", metavar="PEM", help="trust these roots instead of certifi's Mozilla bundle")
    g.add_argument("--resolve", metavar="HOST:PORT:ADDR", action="append", default=[],
                   help="connect to ADDR for HOST:PORT while SNI, Host and certificate checks use HOST (like curl)")
    g.add_argument("--allow-private", action="store_true", help="allow private, loopback and reserved addresses")
    g.add_argument("--deadline", type=float, metavar="SECONDS", help="time for the whole run (default 20)")


def _policy(args: argparse.Namespace):
    from .net import NetPolicy, parse_resolve

    try:
        resolve = parse_resolve(args.resolve)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if args.ca_bundle:
        try:
            with open(args.ca_bundle, "rb") as fh:
                if b"-----BEGIN CERTIFICATE-----" not in fh.read():
                    raise UsageError(f"--ca-bundle {args.ca_bundle}: no PEM certificate in it")
        except OSError as exc:
            raise UsageError(f"--ca-bundle {args.ca_bundle}: {exc.strerror}") from None
    if args.deadline is not None and not 0 < args.deadline <= 300:
        raise UsageError("--deadline must be between 0 and 300 seconds")
    try:
        return NetPolicy.from_env(
            allow_private=True if args.allow_private else None,
            resolve=resolve or None,
            ca_bundle=args.ca_bundle,
            deadline=args.deadline,
        )
    except ValueError as exc:
        raise UsageError(f"bad CONNECT_CHECK_* setting: {exc}") from None


def main(argv: Sequence[str] | None = None, stdin: TextIO | None = None, stdout: TextIO | None = None) -> int:
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        args = build_parser().parse_args(argv)
        if args.command == "check":
            return _check(args, stdin, stdout)
        if args.command == "explain":
            return _explain(args, stdin, stdout)
        return _batch(args, stdin, stdout)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return EXIT_USAGE


def _check(args: argparse.Namespace, stdin: TextIO, stdout: TextIO) -> int:
    from .runner import Options, run_check
    from .target import TargetError, parse

    try:
        target = parse(args.url)
    except TargetError as exc:
        raise UsageError(str(exc)) from None
    secret = None
    if args.secret_stdin:
        secret = stdin.readline().strip() or None
        if secret is None:
            raise UsageError("--secret-stdin: nothing was read from standard input")
    options = Options(
        region=args.region,
        client_id=args.client_id,
        redirect_uri=args.redirect_uri,
        key_redirect_uris=tuple(args.key_redirect_uri),
        key_legacy_redirect_uri=args.key_legacy_redirect_uri,
        secret=secret,
    )
    report = run_check(target, options, _policy(args))
    stdout.write(report.to_json() + "\n" if args.json else render_report(report))
    return EXIT_FAILED if any(f.status.value == "fail" for f in report.findings) else EXIT_OK


def render_report(report) -> str:
    """Plain-text report for people: verdict, then each finding with its fix."""
    from .model import STEP_TITLES, Verdict

    verdict_text = {
        Verdict.READY: "READY - Badgr should be able to connect.",
        Verdict.ACTION_NEEDED: f"ACTION NEEDED - {sum(1 for f in report.findings if f.status.value in ('fail', 'error'))} thing(s) to fix.",
        Verdict.BLOCKED: "BLOCKED - Badgr cannot connect until this is fixed.",
    }[report.verdict]
    lines = [f"Connect Check {report.target.origin}  ({report.elapsed_ms} ms, {report.started_at})", verdict_text]
    if report.hosting.kind != "unknown":
        env = f" ({report.hosting.environment})" if report.hosting.environment else ""
        lines.append(f"Hosting: {report.hosting.kind}{env}")
    lines.append("")
    for f in report.findings:
        lines.append(f"[{_ICONS[f.status.value]}] {STEP_TITLES.get(f.step, f.step)}: {f.title}  ({f.code})")
        if f.detail:
            lines.append(f"       {f.detail}")
        if f.is_problem:
            lines.append(f"       {f.summary}")
            for i, step in enumerate(f.fix, 1):
                lines.append(f"       {i}. {step}")
    pem = report.extras.get("fixed_chain_pem")
    if pem:
        lines += ["", "Corrected certificate chain (install this on the server):", pem.strip()]
    return "\n".join(lines) + "\n"


def _read_input(file: str, stdin: TextIO, *, limit: int, encoding: str) -> str:
    """The text of FILE (its first ``limit`` bytes, undecodable bytes replaced) or of stdin for -."""
    if file == "-":
        return stdin.read()
    try:
        with open(file, "rb") as fh:
            return fh.read(limit).decode(encoding, errors="replace")
    except OSError as exc:
        raise UsageError(f"{file}: {exc.strerror}") from None


def _explain(args: argparse.Namespace, stdin: TextIO, stdout: TextIO) -> int:
    from .explain import explain, render_text

    result = explain(_read_input(args.file, stdin, limit=16 * 1024 * 1024, encoding="utf-8"))
    stdout.write(json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n" if args.json else render_text(result))
    return EXIT_OK


def _batch(args: argparse.Namespace, stdin: TextIO, stdout: TextIO) -> int:
    from . import batch
    from .runner import Options

    if not 1 <= args.concurrency <= batch.MAX_CONCURRENCY:
        raise UsageError(f"--concurrency must be between 1 and {batch.MAX_CONCURRENCY}")
    text = _read_input(args.file, stdin, limit=8 * 1024 * 1024, encoding="utf-8-sig")  # -sig: Excel's BOM
    urls, errors = batch.parse_targets(text)
    for err in errors:
        print(f"skipped: {err}", file=sys.stderr)
    if not urls:
        raise UsageError("no Canvas URL found in the input")
    rows = batch.run_batch(urls, concurrency=args.concurrency, policy=_policy(args), options=Options(region=args.region))
    if args.out and args.out.endswith(".json"):
        batch.write_json(rows, args.out)
    elif args.out:
        batch.write_csv(rows, args.out)
    else:
        batch.write_csv(rows, stdout)
    return EXIT_FAILED if any(r.get("verdict") != "ready" for r in rows) else EXIT_OK
