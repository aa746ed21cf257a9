"""The SSRF run, inside a network namespace of its own.

``tests/test_ssrf.py`` starts this as ``unshare -n python -m tests.ssrf.inner``: the
process sees only a fresh loopback device. It adds private addresses to it (10.x,
172.16.x, 192.168.x, 100.64.x, 169.254.169.254, 198.18.x, fd00::/8 ...), opens TCP
listeners on each of them (ports 80, 443, 8443, 22, 8080; 127.0.0.1 and ::1 too), starts a
lab DNS server whose names point there, and then tries to make Connect Check reach them
every way we know: IP literals in every spelling (engine and CLI), names through the lab
DNS, ``--resolve`` and ``CONNECT_CHECK_RESOLVE``, redirects, AIA URLs, Badgr region hosts
from a ``CONNECT_CHECK_REGIONS`` file, the hosted-LTI key-set host, DNS rebinding, ports
outside the policy, the batch runner - all without ``--allow-private``. It counts every
connection a listener accepts.

Redirects and AIA URLs need a first hop that the policy allows. That first hop is a
*stand-in* for a public server: address 192.0.2.10 (TEST-NET-1, on this namespace's
loopback) under the names in :data:`STANDIN_NAMES`. Vetting is patched in this process
for exactly those names at exactly that address, as
``tests/test_net.py::test_redirects_are_vetted_hop_by_hop`` does; nothing else changes,
and the real CLI subprocesses run unpatched. Connections to the stand-in are expected and
counted apart.

Positive controls prove the listeners would have seen a connection: a raw connect to each
listener, and the same engine paths with ``allow_private=True``.

Prints one JSON object on its last line of stdout: cases, controls and totals.
Never run it outside a private namespace: it adds addresses to ``lo``.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import ipaddress
import json
import os
import selectors
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[2]

PRIVATE_V4 = ["127.0.0.1", "127.0.0.2", "127.1.2.3", "10.9.8.7", "172.16.5.4", "192.168.7.6", "100.64.3.2",
              "169.254.169.254", "198.18.0.9", "192.0.0.8"]
PRIVATE_V6 = ["::1", "fd00::5", "fdff:ffff::9"]
PORTS = [80, 443, 8443, 22, 8080]
STANDIN = "192.0.2.10"
STANDIN_NAMES = frozenset({"public.lab.test", "myschool.instructure.com", "rebind.lab.test"})

#: Names the lab DNS server answers, and where they point.
ZONE_A = {
    "internal.lab.test": ["10.9.8.7"],
    "metadata.lab.test": ["169.254.169.254"],
    "loop.lab.test": ["127.0.0.1"],
    "cgnat.lab.test": ["100.64.3.2"],
    "b.rfc1918.lab.test": ["172.16.5.4"],
    "c.rfc1918.lab.test": ["192.168.7.6"],
    "bench.lab.test": ["198.18.0.9"],
    "mixed.lab.test": ["93.184.216.34", "10.9.8.7"],  # one public, one private: all refused
    "localhost": ["127.0.0.1"],
    "127.0.0.1.nip.lab.test": ["127.0.0.1"],
    "zero.lab.test": ["0.0.0.0"],
    "sso.canvaslms.com": ["169.254.169.254"],  # the hosted-LTI key-set host
    "api.badgr.io": ["10.9.8.7"],  # a shipped Badgr region host
}
ZONE_AAAA = {
    "v6loop.lab.test": ["::1"],
    "ula.lab.test": ["fd00::5"],
    "mapped.lab.test": ["::ffff:127.0.0.1"],
    "nat64.lab.test": ["64:ff9b::a9fe:a9fe"],
    "sixtofour.lab.test": ["2002:a9fe:a9fe::1"],
    "api.test.badgr.com": ["::1"],
}
ZONE_CNAME = {"alias.lab.test": "internal.lab.test", "deep-alias.lab.test": "alias.lab.test"}
REBIND = "rebind.lab.test"


# ----------------------------------------------------------------------------- namespace set-up


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


def set_up_addresses() -> list[str]:
    """Bring lo up and add the private addresses and the stand-in; returns v6 problems."""
    _ip("link", "set", "lo", "up")
    for address in [*PRIVATE_V4, STANDIN]:
        if not address.startswith("127."):
            _ip("addr", "add", f"{address}/32", "dev", "lo")
    problems = []
    for address in PRIVATE_V6:
        if address != "::1":
            try:
                _ip("-6", "addr", "add", f"{address}/128", "dev", "lo", "nodad")
            except subprocess.CalledProcessError as exc:
                problems.append(f"{address}: {exc.stderr.decode(errors='replace').strip()}")
    return problems


class Listeners:
    """TCP listeners on every private address and port; counts accepted connections."""

    def __init__(self) -> None:
        self.hits: list[dict[str, Any]] = []
        self.opened: list[str] = []
        self.skipped: list[str] = []
        self._lock = threading.Lock()
        self._sel = selectors.DefaultSelector()
        self._stop = threading.Event()

    def open(self, address: str, port: int) -> None:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        s = socket.socket(family, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        try:
            s.bind((address, port))
        except OSError as exc:
            s.close()
            self.skipped.append(f"{address}:{port} ({exc.strerror})")
            return
        s.listen(128)
        s.setblocking(False)
        self._sel.register(s, selectors.EVENT_READ, f"[{address}]:{port}" if ":" in address else f"{address}:{port}")
        self.opened.append(f"{address}:{port}")

    def start(self) -> None:
        threading.Thread(target=self._loop, daemon=True).start()

    def _take(self, sock: socket.socket, name: str) -> None:
        """Accept and close every connection waiting on ``sock`` (non-blocking)."""
        while True:
            try:
                conn, peer = sock.accept()
            except OSError:  # BlockingIOError: nothing waiting (or the other thread took it)
                return
            with self._lock:
                self.hits.append({"listener": name, "peer": str(peer[0])})
            conn.close()

    def _loop(self) -> None:
        # Closes connections promptly, so a client that did get through is not left
        # waiting for an answer until its own timeout.
        while not self._stop.is_set():
            for key, _ in self._sel.select(0.05):
                self._take(key.fileobj, key.data)  # type: ignore[arg-type]

    def count(self) -> int:
        """Connections accepted so far. A completed TCP handshake sits in the listen
        queue until accepted, so draining every queue here counts all of them without
        waiting for the accept thread."""
        for key in list(self._sel.get_map().values()):
            self._take(key.fileobj, key.data)  # type: ignore[arg-type]
        with self._lock:
            return len(self.hits)

    def since(self, mark: int) -> list[dict[str, Any]]:
        self.count()
        with self._lock:
            return list(self.hits[mark:])


# ----------------------------------------------------------------------------- lab servers


def start_dns():
    from tests.lab.servers import DnsZone

    class RebindingZone(DnsZone):
        """Answers the stand-in for the first A query of REBIND, a private address after."""

        def answer(self, query):
            response = super().answer(query)
            q = query.question[0]
            if str(q.name).rstrip(".").lower() == REBIND and q.rdtype == 1:
                self.a[REBIND] = ["10.9.8.7"]
            return response

    zone = RebindingZone(a={**ZONE_A, REBIND: [STANDIN]}, aaaa=dict(ZONE_AAAA), cname=dict(ZONE_CNAME))
    from tests.lab.servers import serve_dns

    stack = contextlib.ExitStack()
    address = stack.enter_context(serve_dns(zone))
    return zone, address, stack


@dataclass
class StandIn:
    """Servers on the stand-in address that play public hosts."""

    bundle: str
    routes: dict[str, str]  # path -> Location it redirects to
    aia_servers: dict[str, int] = field(default_factory=dict)  # AIA URL -> TLS port serving a leaf naming it
    stats: dict[str, int] = field(default_factory=dict)


def start_standin(tmp: Path, redirect_targets: list[str], aia_urls: list[str]) -> tuple[StandIn, contextlib.ExitStack]:
    from tests.lab.fake_canvas import FakeCanvas
    from tests.lab.pki import CA
    from tests.lab.servers import LabHandler, _Server

    stack = contextlib.ExitStack()
    root = CA("SSRF Lab Root CA")
    issuing = root.create_child_ca("SSRF Lab Issuing CA")
    bundle = root.write_bundle(tmp / "ssrf-root.pem")
    canvas = FakeCanvas(hosted=True)
    routes: dict[str, str] = {}
    for i, location in enumerate(redirect_targets):
        path = f"/r{i}"
        routes[path] = location
        canvas.extra_routes[("GET", path)] = lambda h, loc=location: h.canvas_redirect(loc)
    # a same-host hop first, then somewhere private
    canvas.extra_routes[("GET", "/hop")] = lambda h: h.canvas_redirect("/hop2")
    canvas.extra_routes[("GET", "/hop2")] = lambda h: h.canvas_redirect("http://10.9.8.7/latest/meta-data/")
    routes["/hop"] = "/hop2 -> http://10.9.8.7/latest/meta-data/"

    def serve(server) -> None:
        stack.callback(server.server_close)
        stack.callback(server.shutdown)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    leaf = issuing.issue_cert(*sorted(STANDIN_NAMES))
    canvas_server = _Server((STANDIN, 443), canvas.handler(), leaf.server_context())
    canvas_server.running = _Running()  # type: ignore[attr-defined]
    serve(canvas_server)

    class AiaRedirect(LabHandler):
        def do_GET(self):  # noqa: N802
            self.answer(302, "", {"Location": "http://169.254.169.254/latest/meta-data/ca.der"})

    plain = _Server((STANDIN, 80), AiaRedirect, None)
    serve(plain)

    class Hello(LabHandler):
        def do_GET(self):  # noqa: N802
            self.answer(200, "stand-in\n")

    standin = StandIn(bundle, routes)
    for url in aia_urls:
        aia_issuing = root.create_child_ca("SSRF Lab AIA Issuing CA")
        aia_leaf = aia_issuing.issue_cert("public.lab.test", aia_url=url)
        server = _Server((STANDIN, 0), Hello, aia_leaf.server_context([aia_leaf.cert]))
        serve(server)
        standin.aia_servers[url] = server.server_address[1]
    return standin, stack


class _Running:
    requests: list[str]

    def __init__(self) -> None:
        self.requests = []


def patch_vetting_for_standin() -> None:
    """Treat the stand-in address as public for the stand-in names only (this process only)."""
    from diagnostics.net import Network

    real = Network.vet

    def vet(self, host: str, addresses) -> None:
        if host.lower().rstrip(".") in STANDIN_NAMES and set(addresses) == {STANDIN}:
            return None
        return real(self, host, addresses)

    Network.vet = vet  # type: ignore[method-assign]


# ----------------------------------------------------------------------------- the run


@dataclass
class Run:
    listeners: Listeners
    cases: list[dict[str, Any]] = field(default_factory=list)
    controls: list[dict[str, Any]] = field(default_factory=list)

    def case(self, via: str, target: str, attempt: Callable[[], tuple[bool, str]], control: bool = False) -> None:
        """Run one attempt; ``attempt`` returns (refused as expected?, what happened)."""
        mark = self.listeners.count()
        try:
            refused, outcome = attempt()
        except Exception as exc:  # noqa: BLE001 - reported, the outer test fails on it
            refused, outcome = False, f"raised {type(exc).__name__}: {exc}"
        hits = self.listeners.since(mark)
        entry = {"via": via, "target": target, "refused": refused, "outcome": outcome[:400],
                 "hits": [h["listener"] for h in hits]}
        (self.controls if control else self.cases).append(entry)


def engine_run(target, policy, options=None, checks=None):
    from diagnostics.runner import Options, run_async

    return asyncio.run(run_async(target, options or Options(), policy, checks=checks))


def refused_by_codes(report, *codes: str) -> tuple[bool, str]:
    found = report.codes()
    return any(c in found for c in codes), ",".join(found)


def cli_in_process(argv: list[str], env: dict[str, str] | None = None) -> tuple[int, str, str]:
    from diagnostics import cli

    saved = {k: os.environ.get(k) for k in (env or {})}
    os.environ.update(env or {})
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            code = cli.main(argv, stdin=io.StringIO(""), stdout=out)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return code, out.getvalue(), err.getvalue()


def cli_refused(argv: list[str], env: dict[str, str] | None = None) -> tuple[bool, str]:
    """Exit 2 (unusable input, refused before any network) or a report naming a refusal."""
    code, out, err = cli_in_process(argv, env)
    if code == 2:
        return "Traceback" not in err, f"exit 2: {err.strip()[:200]}"
    try:
        codes = [f["code"] for f in json.loads(out)["findings"]]
    except (ValueError, KeyError):
        return False, f"exit {code}: {out[:200]} {err[:200]}"
    refused = any(c in codes for c in ("net.private_address", "net.port_not_allowed"))
    return refused, f"exit {code}: {','.join(codes)}"


def main() -> int:
    sys.path.insert(0, str(ROOT))
    from diagnostics import batch
    from diagnostics.checks import dns as dns_check
    from diagnostics.checks import tls as tls_check
    from diagnostics.net import NetError, NetPolicy, Network
    from diagnostics.runner import CheckSpec, Options
    from diagnostics.target import Target, TargetError, parse
    from tests.ssrf.spellings import v4_spellings, v6_hiding

    v6_problems = set_up_addresses()
    listeners = Listeners()
    for address in [*PRIVATE_V4, *PRIVATE_V6, "0.0.0.0"]:
        for port in PORTS:
            if address == "0.0.0.0":
                continue  # connecting to 0.0.0.0 reaches the 127.0.0.1 listeners
            listeners.open(address, port)
    listeners.start()
    zone, dns_address, dns_stack = start_dns()
    dns_env = {"CONNECT_CHECK_DNS": f"{dns_address[0]}:{dns_address[1]}"}
    os.environ.update(dns_env)
    for key in ("CONNECT_CHECK_ALLOW_PRIVATE", "CONNECT_CHECK_RESOLVE", "CONNECT_CHECK_PORTS", "CONNECT_CHECK_REGIONS"):
        os.environ.pop(key, None)
    nameservers = (tuple(dns_address),)
    run = Run(listeners)

    # -- positive control 1: every listener takes a raw connection ----------------
    for spec in list(listeners.opened):
        address, _, port = spec.rpartition(":")
        def raw(address=address, port=int(port)):
            with socket.create_connection((address, port), timeout=2):
                pass
            return True, "connected"
        run.case("raw socket", spec, raw, control=True)

    policy = NetPolicy(nameservers=nameservers, deadline=6.0)

    # -- 1. IP literals in every spelling: engine (parse bypassed) and CLI --------
    spellings: list[str] = []
    for address in [*PRIVATE_V4, "0.0.0.0"]:
        spellings += v4_spellings(address)
    for address in ["127.0.0.1", "10.9.8.7", "169.254.169.254", "192.168.7.6"]:
        spellings += [f"[{form}]" for form in v6_hiding(address)]
    spellings += [f"[{a}]" for a in PRIVATE_V6] + ["[::]", "0", "0x0", "[0:0:0:0:0:0:0:1]", "[::ffff:0.0.0.0]"]
    spellings = list(dict.fromkeys(spellings))
    for spelling in spellings:
        for port in (443, 8443, 80):
            target = Target(input=spelling, host=spelling, port=port)
            run.case("engine", f"{spelling}:{port}",
                     lambda t=target: refused_by_codes(engine_run(t, policy), "net.private_address"))
        for url in (spelling, f"https://{spelling}/courses/1", f"http://{spelling}:8443/"):
            run.case("cli", url, lambda u=url: cli_refused(["check", u, "--json"]))

    # -- 2. names that resolve there: lab DNS, --resolve, CONNECT_CHECK_RESOLVE ---
    names = [n for n in [*ZONE_A, *ZONE_AAAA, *ZONE_CNAME] if n not in ("sso.canvaslms.com",)]
    for name in names:
        for port in (443, 8443):
            def by_dns(name=name, port=port):
                try:
                    target = parse(f"{name}:{port}")
                except TargetError:
                    target = Target(input=name, host=name, port=port)  # single-label names like localhost
                return refused_by_codes(engine_run(target, policy), "net.private_address")
            run.case("engine dns", f"{name}:{port}", by_dns)
        run.case("cli dns", name, lambda n=name: cli_refused(["check", n, "--json"]))
    for address in [*PRIVATE_V4, *PRIVATE_V6, "0.0.0.0"]:
        resolve = {("canvas.lab.test", 443): (str(ipaddress.ip_address(address)),)}
        run.case("engine --resolve", address, lambda r=resolve: refused_by_codes(
            engine_run(parse("canvas.lab.test"), NetPolicy(resolve=r, nameservers=nameservers)), "net.private_address"))
        flag = f"canvas.lab.test:443:{address}"
        run.case("cli --resolve", flag, lambda f=flag: cli_refused(["check", "canvas.lab.test", "--json", "--resolve", f]))
        run.case("cli CONNECT_CHECK_RESOLVE", flag, lambda f=flag: cli_refused(
            ["check", "canvas.lab.test", "--json"], {"CONNECT_CHECK_RESOLVE": f}))

    # -- 3. ports outside the policy --------------------------------------------
    for spec in ("internal.lab.test:22", "internal.lab.test:8080", "public.lab.test:22", "loop.lab.test:6379"):
        run.case("cli port", spec, lambda s=spec: cli_refused(["check", s, "--json"]))

    # -- 4. redirects from a public stand-in to private places -------------------
    redirect_targets = []
    for address in PRIVATE_V4:
        redirect_targets += [f"http://{address}/latest/meta-data/", f"https://{address}:8443/admin"]
    for spelling in v4_spellings("169.254.169.254") + v4_spellings("127.0.0.1"):
        redirect_targets.append(f"http://{spelling}/")
    redirect_targets += [
        "http://[::1]/", "https://[fd00::5]/", "http://[::ffff:127.0.0.1]/", "http://[::ffff:a9fe:a9fe]/",
        "http://[64:ff9b::a9fe:a9fe]/", "http://[2002:a9fe:a9fe::1]/", "http://0.0.0.0/", "http://0/",
        "http://internal.lab.test/", "http://metadata.lab.test/latest/meta-data/", "http://localhost/",
        "https://alias.lab.test/", "http://v6loop.lab.test/", "http://mapped.lab.test/", "//10.9.8.7/",
        "http://10.9.8.7:22/", "http://user:pass@127.0.0.1/", "http://public.lab.test@127.0.0.1/",
        "http://127.0.0.1%2f@public.lab.test/", "http://public.lab.test\\@127.0.0.1/", "gopher://127.0.0.1:6379/_",
        "file:///etc/passwd", "HTTP://LOOP.LAB.TEST/", "http://127.0.0.1.nip.lab.test/",
    ]
    aia_urls = ["http://169.254.169.254/ca.der", "http://10.9.8.7/ca.der", "http://0xa9fea9fe/ca.der",
                "http://[::1]/ca.der", "http://[fd00::5]/ca.der", "http://metadata.lab.test/ca.der",
                "http://127.0.0.1:8443/ca.der", "http://localhost/ca.der", "http://2130706433/ca.der",
                "http://100.64.3.2/ca.der", "http://public.lab.test/aia-redirect"]
    tmp = Path(tempfile.mkdtemp(prefix="ssrf-"))
    standin, standin_stack = start_standin(tmp, redirect_targets, aia_urls)
    patch_vetting_for_standin()
    standin_policy = NetPolicy(resolve={(n, 0): (STANDIN,) for n in STANDIN_NAMES if n != REBIND},
                               ca_bundle=standin.bundle, nameservers=nameservers, deadline=6.0)

    async def follow(url: str, allow_private: bool = False) -> tuple[bool, str]:
        p = NetPolicy(**{**standin_policy.__dict__, "allow_private": allow_private})
        net = Network(p)
        try:
            result = await net.fetch(url, follow_redirects=5, verify=False)
            return False, f"answered {result.status} from {result.url}"
        except NetError as exc:
            return True, f"{type(exc).__name__}: {exc}"
        finally:
            await net.aclose()

    for path, location in standin.routes.items():
        run.case("redirect", location, lambda u=f"https://public.lab.test{path}": asyncio.run(follow(u)))
    run.case("redirect", "allow_private control", lambda: asyncio.run(follow("https://public.lab.test/r0", True)),
             control=True)

    # -- 5. AIA URLs pointing there ------------------------------------------------
    tls_checks = (CheckSpec("dns", "address", dns_check.check, ("dns",)),
                  CheckSpec("tls", "certificate", tls_check.check, ("tls",)))

    def aia(url: str, allow_private: bool = False) -> tuple[bool, str]:
        port = standin.aia_servers[url]
        p = NetPolicy(**{**standin_policy.__dict__, "ports": None, "allow_private": allow_private})
        report = engine_run(parse(f"public.lab.test:{port}"), p, checks=tls_checks)
        f = report.finding("tls.incomplete_chain")
        fetches = (f.evidence.get("aia_fetch") if f else None) or []
        ok = bool(fetches) and all(e.get("result") != "ok" for e in fetches)
        return ok, json.dumps(fetches)[:300] if fetches else ",".join(report.codes())

    for url in aia_urls:
        run.case("aia", url, lambda u=url: aia(u))
    run.case("aia", "allow_private control", lambda: aia("http://169.254.169.254/ca.der", True), control=True)

    # -- 6. Badgr region hosts (operator file) and the shipped ones via DNS ---------
    regions_file = tmp / "regions.toml"
    region_hosts = {"us": "10.9.8.7", "eu": "metadata.lab.test", "ca": "0xa9fea9fe", "au": "127.1:8443",
                    "sg": "2130706433"}
    regions_file.write_text("".join(f'[regions.{k}]\napi = "{v}"\n' for k, v in region_hosts.items()))

    def badgr(region: str, env: dict[str, str], allow_private: bool = False) -> tuple[bool, str]:
        saved = os.environ.get("CONNECT_CHECK_REGIONS")
        os.environ.pop("CONNECT_CHECK_REGIONS", None)
        os.environ.update(env)
        try:
            p = NetPolicy(nameservers=nameservers, allow_private=allow_private, deadline=6.0)
            report = engine_run(parse("nowhere.lab.test"), p, Options(region=region))
        finally:
            os.environ.pop("CONNECT_CHECK_REGIONS", None)
            if saved is not None:
                os.environ["CONNECT_CHECK_REGIONS"] = saved
        f = report.finding("badgr.unreachable")
        kind = f.evidence.get("kind") if f else None
        return kind in ("PrivateAddress", "PortNotAllowed"), f"{','.join(report.codes())} kind={kind}"

    override = {"CONNECT_CHECK_REGIONS": str(regions_file)}
    for region, host in region_hosts.items():
        run.case("badgr region file", f"{region}: {host}", lambda r=region: badgr(r, override))
        run.case("cli badgr region file", f"{region}: {host}", lambda r=region: _cli_badgr(r, override))
    for region, host in (("us", "api.badgr.io"), ("test", "api.test.badgr.com")):
        run.case("badgr shipped host via DNS", f"{region}: {host}", lambda r=region: badgr(r, {}))
    run.case("badgr", "allow_private control", lambda: badgr("us", override, True), control=True)

    # -- 7. hosted LTI key set host and DNS rebinding --------------------------------
    def hosted_lti() -> tuple[bool, str]:
        report = engine_run(parse("myschool.instructure.com"), standin_policy)
        f = report.finding("lti.jwks_unreachable")
        reason = f.evidence.get("error", "") if f else ""
        return "not connected" in reason, f"{','.join(report.codes())}: {reason[:200]}"

    run.case("hosted lti", "sso.canvaslms.com -> 169.254.169.254", hosted_lti)

    def rebinding() -> tuple[bool, str]:
        before = list(zone.queries)
        report = engine_run(parse(REBIND), standin_policy)
        asked = [q for q in zone.queries[len(before):] if q == f"{REBIND} A"]
        return len(asked) == 1 and "dns.resolved" in report.codes(), f"A queries {len(asked)}; {','.join(report.codes())}"

    run.case("dns rebinding", REBIND, rebinding)

    # -- 8. the batch runner ---------------------------------------------------------
    def batch_run() -> tuple[bool, str]:
        urls, errors = batch.parse_targets("\n".join(["internal.lab.test", "metadata.lab.test", "alias.lab.test",
                                                      "0x7f000001", "https://127.1/", "v6loop.lab.test"]))
        rows = batch.run_batch(urls, concurrency=4, policy=policy, options=Options())
        return all(r.get("verdict") != "ready" for r in rows), f"{len(rows)} rows, {len(errors)} refused at parse"

    run.case("batch", "6 private targets", batch_run)

    # -- 9. the real CLI, unpatched, in subprocesses ----------------------------------
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONNECT_CHECK_")}
    env.update(dns_env)
    argvs = [
        ["check", "https://0x7f000001/", "--json"],
        ["check", "internal.lab.test", "--json"],
        ["check", "metadata.lab.test", "--json", "--client-id", "10000000000001"],
        ["check", "canvas.lab.test", "--json", "--resolve", "canvas.lab.test:443:169.254.169.254"],
        ["check", "https://[::ffff:a9fe:a9fe]/", "--json"],
        ["check", "alias.lab.test", "--json", "--region", "us"],
        ["check", "nowhere.lab.test", "--json", "--region", "ca"],
        ["check", "localhost", "--json"],
    ]

    def subprocess_cli(argv: list[str], extra: dict[str, str]) -> tuple[bool, str]:
        r = subprocess.run([sys.executable, "-m", "diagnostics", *argv], capture_output=True, text=True,
                           env={**env, **extra}, cwd=ROOT, timeout=60)
        if r.returncode == 2:
            return "Traceback" not in r.stderr, f"exit 2: {r.stderr.strip()[:200]}"
        try:
            findings = {f["code"]: f for f in json.loads(r.stdout)["findings"]}
        except (ValueError, KeyError):
            return False, f"exit {r.returncode}: {r.stdout[:200]} {r.stderr[:300]}"
        refused = "net.private_address" in findings or "dns.not_found" in findings
        if "--region" in argv:
            kind = findings.get("badgr.unreachable", {}).get("evidence", {}).get("kind")
            refused = refused and kind == "PrivateAddress"
        return refused, f"exit {r.returncode}: {','.join(findings)}"

    mark = listeners.count()
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [(argv, pool.submit(subprocess_cli, argv, override if "--region" in argv else {})) for argv in argvs]
        for argv, fut in futures:
            try:
                refused, outcome = fut.result()
            except Exception as exc:  # noqa: BLE001
                refused, outcome = False, f"raised {type(exc).__name__}: {exc}"
            run.cases.append({"via": "cli subprocess", "target": " ".join(argv), "refused": refused,
                              "outcome": outcome[:400], "hits": []})
    late = listeners.since(mark)
    if late:
        run.cases.append({"via": "cli subprocess", "target": "all", "refused": False, "outcome": "listener hits",
                          "hits": [h["listener"] for h in late]})

    # -- totals ------------------------------------------------------------------------
    time.sleep(0.2)
    control_hits = sum(len(c["hits"]) for c in run.controls)
    total_hits = listeners.count()
    summary = {
        "listeners": len(listeners.opened),
        "listeners_skipped": listeners.skipped,
        "v6_problems": v6_problems,
        "targets_tried": len(run.cases),
        "private_connections": total_hits - control_hits,
        "control_connections": control_hits,
        "cases": run.cases,
        "controls": run.controls,
        "dns_queries": len(zone.queries),
    }
    standin_stack.close()
    dns_stack.close()
    sys.stdout.write("\n" + json.dumps(summary) + "\n")
    sys.stdout.flush()
    return 0


def _cli_badgr(region: str, env: dict[str, str]) -> tuple[bool, str]:
    code, out, err = cli_in_process(["check", "nowhere.lab.test", "--json", "--region", region], env)
    try:
        findings = {f["code"]: f for f in json.loads(out)["findings"]}
    except (ValueError, KeyError):
        return False, f"exit {code}: {out[:200]} {err[:200]}"
    kind = findings.get("badgr.unreachable", {}).get("evidence", {}).get("kind")
    return kind in ("PrivateAddress", "PortNotAllowed"), f"exit {code}: {','.join(findings)} kind={kind}"


if __name__ == "__main__":
    if os.environ.get("CONNECT_CHECK_SSRF_NETNS") != "1":
        sys.exit("refusing to run: start me through tests/test_ssrf.py (unshare -n), never on a shared network")
    sys.exit(main())
