"""Run the checks for one target concurrently under one deadline and stream findings.

A check is ``async def check(ctx: RunContext) -> None``. It emits findings with
``ctx.emit(...)``, publishes values other checks need with ``ctx.publish(key, value)`` and
waits for what it needs with ``await ctx.need(key)`` (None when the producer could not
provide it). Checks are independent tasks: a run costs its slowest chain of dependent
steps. When the deadline passes, unfinished checks are cancelled and reported once as
``net.timeout`` (with the unfinished steps in the evidence); the report always comes back.

The one place that turns a bug in our own code into a finding is :func:`_guard`: the user
sees ``internal.check_error`` ("our fault, not your server"), never a traceback.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Iterator, Sequence

from . import catalog
from .model import Finding, Hosting, Report, TargetInfo, utc_now_iso
from .net import Deadline, NetPolicy, Network
from .target import Target

log = logging.getLogger(__name__)

Check = Callable[["RunContext"], Awaitable[None]]


@dataclass(frozen=True)
class Options:
    """What the user asked for beyond the URL.

    Attributes:
        region: Badgr region key (us, eu, ca, au, sg, test) or None.
        client_id: Developer Key ID as typed, or None.
        redirect_uri: the redirect URI Badgr uses, or None.
        key_redirect_uris: what the admin entered in the key's "Redirect URIs" list.
        key_legacy_redirect_uri: what the admin entered in "Redirect URI (Legacy)".
        secret: the Developer Key secret, only when the admin opted in to verify it.
            Never stored in the report; ``repr`` hides it.
    """

    region: str | None = None
    client_id: str | None = None
    redirect_uri: str | None = None
    key_redirect_uris: tuple[str, ...] = ()
    key_legacy_redirect_uri: str | None = None
    secret: str | None = field(default=None, repr=False)

    def cache_key(self) -> tuple[Any, ...]:
        """Identity for caching identical runs; a run with a secret is never cached."""
        return (self.region, self.client_id, self.redirect_uri, self.key_redirect_uris, self.key_legacy_redirect_uri)


@dataclass(frozen=True)
class CheckSpec:
    name: str
    step: str
    run: Check
    provides: tuple[str, ...] = ()


class RunContext:
    """What a check sees: the target, the network, the options and its peers' results."""

    def __init__(self, target: Target, net: Network, options: Options, emit: Callable[[Finding], None]):
        self.target = target
        self.net = net
        self.options = options
        self._emit = emit
        self._values: dict[str, asyncio.Future[Any]] = {}
        self.extras: dict[str, Any] = {}
        self.started = time.monotonic()

    @property
    def deadline(self) -> Deadline:
        return self.net.deadline

    def emit(self, code_or_finding: str | Finding, **kwargs: Any) -> Finding:
        f = code_or_finding if isinstance(code_or_finding, Finding) else catalog.finding(code_or_finding, **kwargs)
        self._emit(f)
        return f

    def _future(self, key: str) -> asyncio.Future[Any]:
        fut = self._values.get(key)
        if fut is None:
            fut = asyncio.get_running_loop().create_future()
            self._values[key] = fut
        return fut

    def publish(self, key: str, value: Any) -> None:
        fut = self._future(key)
        if not fut.done():
            fut.set_result(value)

    async def need(self, key: str) -> Any:
        return await asyncio.shield(self._future(key))

    def value(self, key: str) -> Any:
        fut = self._values.get(key)
        return fut.result() if fut is not None and fut.done() else None

    def _release(self, keys: Sequence[str]) -> None:
        for key in keys:
            self.publish(key, None)


def default_checks(options: Options) -> list[CheckSpec]:
    """The checks a run does, in display order. Imported lazily to keep start-up fast."""
    from .checks import badgr, dns as dns_check, hosting, http, lti, oauth, tls

    specs = [
        CheckSpec("dns", "address", dns_check.check, ("dns",)),
        CheckSpec("tls", "certificate", tls.check, ("tls",)),
        CheckSpec("http", "canvas", http.check, ("canvas",)),
        CheckSpec("hosting", "hosting", hosting.check, ("hosting",)),
        CheckSpec("preauthorization", "hosting", badgr.preauthorization),
        CheckSpec("oauth", "developer_key", oauth.check),
        CheckSpec("lti", "lti", lti.check),
        CheckSpec("badgr", "badgr", badgr.check),
    ]
    return specs


async def run_async(
    target: Target,
    options: Options | None = None,
    policy: NetPolicy | None = None,
    on_finding: Callable[[Finding], None] | None = None,
    checks: Sequence[CheckSpec] | None = None,
) -> Report:
    """Run every check against ``target``; always returns a Report."""
    options = options or Options()
    policy = policy or NetPolicy.from_env()
    started_at = utc_now_iso()
    net = Network(policy)
    findings: list[Finding] = []
    seen: set[str] = set()

    def emit(f: Finding) -> None:
        if f.code in seen:
            return
        if f.elapsed_ms is None:
            f = f.with_elapsed(net.deadline.elapsed_ms())
        seen.add(f.code)
        findings.append(f)
        if on_finding is not None:
            try:
                on_finding(f)
            except Exception:  # a renderer's bug must not stop the run
                log.exception("on_finding callback failed")

    ctx = RunContext(target, net, options, emit)
    for note in target.notes:
        ctx.emit(note, evidence={"input": target.input, "checked": target.origin})

    loop = asyncio.get_running_loop()
    executor = ThreadPoolExecutor(max_workers=8, thread_name_prefix="connect-check")
    loop.set_default_executor(executor)
    try:
        if options.region:
            net.prepare()  # the Badgr step validates: the trust store loads in a thread while DNS is asked
        if not policy.port_allowed(target.port):
            ctx.emit("net.port_not_allowed", detail=f"Port {target.port} is not one Connect Check tests.",
                     evidence={"port": target.port, "allowed": sorted(policy.ports or [])})
        else:
            await _run_specs(ctx, list(checks) if checks is not None else await _default_specs(net, target, options))
    finally:
        await net.aclose()
        executor.shutdown(wait=False, cancel_futures=True)

    hosting = ctx.value("hosting")
    return Report(
        target=TargetInfo(target.input, target.origin, target.host, target.port),
        started_at=started_at,
        elapsed_ms=net.deadline.elapsed_ms(),
        hosting=hosting if isinstance(hosting, Hosting) else Hosting(),
        findings=tuple(findings),
        extras=dict(ctx.extras),
    )


_checks_imported = False


async def _default_specs(net: Network, target: Target, options: Options) -> list[CheckSpec]:
    """:func:`default_checks`; the first time in a process, overlapped with DNS.

    Importing the check modules (pyOpenSSL, cryptography, the chain analysis) costs about
    80 ms of CPU once per process - on every run of the CLI. The first time, the target's
    name goes to DNS first (``Network.resolve`` shares that answer with the address
    step) and the modules import in a worker thread while the answer travels."""
    global _checks_imported
    if _checks_imported:
        return default_checks(options)

    async def prefetch() -> None:
        try:
            await net.resolve(target.host, target.port)
        except Exception:  # noqa: BLE001 - the address step asks again and reports it
            pass

    asked = asyncio.ensure_future(prefetch())
    try:
        specs = await asyncio.to_thread(default_checks, options)
    except BaseException:
        asked.cancel()
        raise
    _checks_imported = True
    return specs


async def _run_specs(ctx: RunContext, specs: Sequence[CheckSpec]) -> None:
    tasks = {asyncio.ensure_future(_guard(ctx, spec)): spec for spec in specs}
    done, pending = await asyncio.wait(tasks, timeout=ctx.deadline.remaining())
    if pending:
        for task in pending:
            task.cancel()
        await asyncio.wait(pending, timeout=0.5)
        unfinished = [tasks[t].name for t in pending]
        ctx.emit(
            "net.timeout",
            detail=f"The run's deadline of {ctx.deadline.total:g} s passed before these steps finished: {', '.join(unfinished)}.",
            evidence={"unfinished": unfinished, "deadline_s": ctx.deadline.total},
        )


async def _guard(ctx: RunContext, spec: CheckSpec) -> None:
    started = time.monotonic()
    try:
        await spec.run(ctx)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # our bug, not the server's: say so, log the details
        log.exception("check %s crashed", spec.name)
        ctx.emit(
            catalog.finding(
                "internal.check_error",
                detail=f"The {spec.step.replace('_', ' ')} step stopped because of a problem in Connect Check itself.",
                evidence={"check": spec.name, "error": type(exc).__name__},
                elapsed_ms=int((time.monotonic() - started) * 1000),
            )
        )
    finally:
        ctx._release(spec.provides)  # noqa: SLF001 - dependants must never wait forever


def run_check(
    target: Target,
    options: Options | None = None,
    policy: NetPolicy | None = None,
    on_finding: Callable[[Finding], None] | None = None,
) -> Report:
    """Synchronous entry point (CLI, batch, tests)."""
    return asyncio.run(run_async(target, options, policy, on_finding))


def stream_check(
    target: Target, options: Options | None = None, policy: NetPolicy | None = None
) -> Iterator[Finding | Report]:
    """Yield findings as they complete, then the Report (for pages that show progress)."""
    q: queue.Queue[Finding | Report | BaseException] = queue.Queue()

    def work() -> None:
        try:
            q.put(run_check(target, options, policy, on_finding=q.put))
        except BaseException as exc:  # pragma: no cover - run_async does not raise
            q.put(exc)

    threading.Thread(target=work, name="connect-check-run", daemon=True).start()
    while True:
        item = q.get()
        if isinstance(item, BaseException):
            raise item
        yield item
        if isinstance(item, Report):
            return
