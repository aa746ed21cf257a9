"""Network policy: vetted resolution, pinned connections, deadlines and caps.

Every byte Connect Check sends goes through a :class:`Network` made for one run:

    NetError                      the server or the network, never our own bug
      NameNotFound                no A/AAAA record
      PrivateAddress              resolves to a non-public address (refused, never connected)
      PortNotAllowed              port outside the policy
      ConnectFailed               refused / unreachable
      NetTimeout                  a step or the run deadline ran out
      RedirectRefused             a redirect to somewhere we will not follow
      BadResponse                 not HTTP, broken TLS, oversized headers

Names are resolved once per run (dnspython, or ``--resolve`` overrides), every address is
vetted, and connections go to a vetted address while SNI, Host and certificate checks
use the name. HTTP goes through httpx with a network backend that applies the same rules
to every connection, redirects are followed hop by hop (each vetted, at most five) and
bodies are read up to a cap.
"""

from __future__ import annotations

import asyncio
import functools
import importlib.util
import ipaddress
import os
import re
import socket
import ssl
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence
from urllib.parse import urljoin, urlsplit

import certifi
import dns.asyncresolver
import dns.exception
import dns.name
import dns.rdatatype
import dns.resolver
import httpcore
import httpx

from . import __version__

# httpcore asks for the optional sniffio package each time it makes a lock or an event
# (about 30 times a run); when it is not installed, every ask is a failed import that
# walks sys.path (6 ms of CPU per run). Remember its absence once.
if importlib.util.find_spec("sniffio") is None:
    sys.modules.setdefault("sniffio", None)  # type: ignore[arg-type]

USER_AGENT = f"ConnectCheck/{__version__}"
DEFAULT_PORTS = frozenset({443, 8443, 80})
MAX_BODY = 1024 * 1024
MAX_REDIRECTS = 5
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 8.0
DNS_TIMEOUT = 4.0

# ----------------------------------------------------------------------------- errors


@dataclass
class NetError(Exception):
    """Base: the network or the server failed; ``str()`` is a sentence for people."""

    host: str

    def __str__(self) -> str:  # pragma: no cover - overridden everywhere
        return f"network error talking to {self.host}"


@dataclass
class NameNotFound(NetError):
    detail: str = "no A or AAAA record"

    def __str__(self) -> str:
        return f"{self.host} does not resolve ({self.detail})"


@dataclass
class PrivateAddress(NetError):
    address: str = ""
    reason: str = ""

    def __str__(self) -> str:
        return f"{self.host} resolves to {self.address}, a {self.reason} address; not connected"


@dataclass
class PortNotAllowed(NetError):
    port: int = 0

    def __str__(self) -> str:
        return f"port {self.port} is not allowed by the network policy"


@dataclass
class ConnectFailed(NetError):
    address: str = ""
    reason: str = ""

    def __str__(self) -> str:
        return f"could not connect to {self.host} ({self.address}): {self.reason}"


@dataclass
class NetTimeout(NetError):
    what: str = "answer"

    def __str__(self) -> str:
        return f"{self.host}: no {self.what} in the time allowed"


@dataclass
class RedirectRefused(NetError):
    location: str = ""
    reason: str = ""

    def __str__(self) -> str:
        return f"redirect from {self.host} to {self.location!r} not followed: {self.reason}"


@dataclass
class BadResponse(NetError):
    reason: str = ""

    def __str__(self) -> str:
        return f"{self.host} sent an answer that is not valid HTTP ({self.reason})"


# ----------------------------------------------------------------------------- policy


@dataclass(frozen=True)
class NetPolicy:
    """What a run may do on the network.

    Attributes:
        allow_private: lift the private-address refusal (tests and operators only).
        resolve: curl-style overrides, ``(host, port) -> addresses``; port 0 = any port.
        ca_bundle: PEM file replacing certifi's Mozilla bundle, or None.
        ports: allowed destination ports, or None for any.
        nameservers: ``(address, port)`` DNS servers to ask instead of the system's.
        deadline: seconds for a whole run.
    """

    allow_private: bool = False
    resolve: Mapping[tuple[str, int], tuple[str, ...]] = field(default_factory=dict)
    ca_bundle: str | None = None
    ports: frozenset[int] | None = DEFAULT_PORTS
    nameservers: tuple[tuple[str, int], ...] = ()
    deadline: float = 20.0

    @property
    def trust_store(self) -> str:
        return self.ca_bundle or certifi.where()

    def port_allowed(self, port: int) -> bool:
        return self.ports is None or port in self.ports

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> "NetPolicy":
        """Read CONNECT_CHECK_* settings; keyword overrides win (the CLI's flags)."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {
            "allow_private": env.get("CONNECT_CHECK_ALLOW_PRIVATE", "") in ("1", "true", "yes"),
            "resolve": parse_resolve([r for r in env.get("CONNECT_CHECK_RESOLVE", "").split(",") if r.strip()]),
            "ca_bundle": env.get("CONNECT_CHECK_CA_BUNDLE") or None,
            "ports": parse_ports(env.get("CONNECT_CHECK_PORTS", "")),
            "nameservers": parse_nameservers(env.get("CONNECT_CHECK_DNS", "")),
        }
        if env.get("CONNECT_CHECK_DEADLINE"):
            values["deadline"] = float(env["CONNECT_CHECK_DEADLINE"])
        for key, value in overrides.items():
            if value is not None:
                if key == "resolve":
                    value = {**values["resolve"], **value}
                values[key] = value
        return cls(**values)


def parse_resolve(items: Sequence[str]) -> dict[tuple[str, int], tuple[str, ...]]:
    """``HOST:PORT:ADDR[,ADDR]`` (curl syntax; ``[v6]`` brackets allowed) -> mapping."""
    out: dict[tuple[str, int], tuple[str, ...]] = {}
    for item in items:
        parts = item.strip().split(":", 2)
        if len(parts) != 3 or not parts[0] or not parts[2]:
            raise ValueError(f"--resolve wants HOST:PORT:ADDRESS, got {item!r}")
        host, port_text, addrs = parts
        port = 0 if port_text in ("*", "") else int(port_text)
        addresses = tuple(str(ipaddress.ip_address(a.strip().strip("[]"))) for a in addrs.split(","))
        out[(host.lower().rstrip("."), port)] = addresses
    return out


def parse_ports(text: str) -> frozenset[int] | None:
    text = text.strip().lower()
    if not text:
        return DEFAULT_PORTS
    if text in ("any", "*", "all"):
        return None
    return frozenset(int(p) for p in text.replace(" ", "").split(",") if p)


def parse_nameservers(text: str) -> tuple[tuple[str, int], ...]:
    out = []
    for item in (t.strip() for t in text.split(",")):
        if not item:
            continue
        addr, _, port = item.rpartition(":") if item.count(":") == 1 else (item, "", "")
        out.append((addr or item, int(port) if port else 53))
    return tuple(out)


# ----------------------------------------------------------------------------- address vetting


def non_public_reason(address: str) -> str | None:
    """Why an address must not be contacted, or None when it is a public unicast address.

    Covers loopback, RFC 1918, CGNAT, link-local (cloud metadata), multicast, reserved,
    unspecified, benchmarking, documentation, IPv6 ULA/link-local/site-local and IPv4
    hidden inside IPv6 (mapped, compatible, 6to4, Teredo, NAT64 well-known prefix).
    """
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return "malformed"
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_v4(ip)
        if inner is not None:
            reason = non_public_reason(str(inner))
            return f"IPv4-in-IPv6 {reason}" if reason else "IPv4-in-IPv6"
        if ip.is_site_local:
            return "site-local"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if ip.is_unspecified:
        return "unspecified"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT:
        return "carrier-grade NAT"
    special = next((n for n in _SPECIAL_PURPOSE if ip.version == n.version and ip in n), None)
    if special is not None:
        return f"special-purpose ({special})"
    if ip.is_private:
        return "private"
    if ip.is_reserved:
        return "reserved"
    if not ip.is_global:
        return "special-purpose"
    return None


_CGNAT = ipaddress.ip_network("100.64.0.0/10")
#: IANA special-purpose registries (IPv4 and IPv6) beyond what ``ipaddress`` flags on
#: every Python version; none of these is a place a public Canvas can live.
_SPECIAL_PURPOSE = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8", "192.0.0.0/24", "192.0.2.0/24", "192.31.196.0/24", "192.52.193.0/24",
        "192.88.99.0/24", "192.175.48.0/24", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24",
        "240.0.0.0/4", "255.255.255.255/32",
        "100::/64", "2001::/23", "2001:db8::/32", "2620:4f:8000::/48", "3fff::/20", "5f00::/16",
        "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
    )
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
_V4_COMPAT = ipaddress.ip_network("::/96")


def _embedded_v4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64 or ip in _V4_COMPAT and int(ip) > 1:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in _NAT64_LOCAL:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


# ----------------------------------------------------------------------------- deadline


class Deadline:
    """One clock for a whole run: every step's timeout is capped by what remains."""

    def __init__(self, seconds: float):
        self.total = seconds
        self.start = time.monotonic()

    def remaining(self) -> float:
        return max(0.0, self.total - (time.monotonic() - self.start))

    def timeout(self, step: float) -> float:
        return max(0.001, min(step, self.remaining()))

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0.0

    def elapsed_ms(self) -> int:
        return int((time.monotonic() - self.start) * 1000)


# ----------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Resolution:
    """What a name resolved to. ``source`` is "dns" or "override" (``--resolve``)."""

    host: str
    addresses: tuple[str, ...]
    cnames: tuple[str, ...] = ()
    source: str = "dns"


@dataclass(frozen=True)
class HttpResult:
    """One HTTP exchange (after any redirects that were followed).

    Attributes:
        url: the URL that answered.
        status: HTTP status code.
        headers: response headers as (name, value) pairs, names lower-cased.
        body: up to MAX_BODY bytes of the body.
        truncated: True when the body was longer than the cap.
        history: (status, url) of each redirect followed before this answer.
        verified: True when TLS was validated against the trust store.
        elapsed_ms: time for the whole exchange.
    """

    url: str
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    truncated: bool = False
    history: tuple[tuple[int, str], ...] = ()
    verified: bool = True
    elapsed_ms: int = 0

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.headers if k == name), None)

    def header_list(self, name: str) -> list[str]:
        name = name.lower()
        return [v for k, v in self.headers if k == name]

    @property
    def location(self) -> str | None:
        loc = self.header("location")
        return urljoin(self.url, loc) if loc else None

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


# ----------------------------------------------------------------------------- the network


class Network:
    """Network access for one run under one policy and one deadline."""

    def __init__(self, policy: NetPolicy, deadline: Deadline | None = None):
        self.policy = policy
        self.deadline = deadline or Deadline(policy.deadline)
        self._dns: dict[str, asyncio.Task[Resolution]] = {}
        self._transports: dict[bool, httpx.AsyncHTTPTransport] = {}
        self._contexts: dict[bool, asyncio.Future[ssl.SSLContext]] = {}
        self.connections_opened = 0

    def prepare(self) -> None:
        """Start loading the trust store in a worker thread (call at the start of a run
        that will validate a certificate over HTTP, from the event loop): the first such
        request then finds it ready instead of loading it itself (see :meth:`_context`)."""
        self._context(True)

    # -- resolution ---------------------------------------------------------
    async def resolve(self, host: str, port: int = 443) -> Resolution:
        """Resolve once per run (concurrent callers share the answer)."""
        host = host.lower().rstrip(".")
        override = self.policy.resolve.get((host, port)) or self.policy.resolve.get((host, 0))
        if override:
            return Resolution(host, override, (), "override")
        literal = ip_literal(host)
        if literal is not None:
            return Resolution(host, (literal,), (), "literal")
        if _NUMERIC_HOST.fullmatch(host):  # numbers that are no address: never a DNS question
            raise NameNotFound(host, "not a valid IP address")
        task = self._dns.get(host)
        if task is None:
            task = asyncio.ensure_future(self._query(host))
            self._dns[host] = task
        return await asyncio.shield(task)

    async def _query(self, host: str) -> Resolution:
        resolver = dns.asyncresolver.Resolver(configure=not self.policy.nameservers)
        if self.policy.nameservers:
            resolver.nameservers = [a for a, _ in self.policy.nameservers]
            resolver.port = self.policy.nameservers[0][1]
        resolver.lifetime = self.deadline.timeout(DNS_TIMEOUT)
        resolver.timeout = resolver.lifetime

        async def one(rdtype: str) -> tuple[list[str], list[str], BaseException | None]:
            try:
                answer = await resolver.resolve(host, rdtype, search=False)
            except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer, dns.resolver.NoNameservers) as exc:
                return [], [], exc
            except dns.exception.Timeout as exc:
                return [], [], exc
            except dns.exception.DNSException as exc:
                return [], [], exc
            chain = [str(n).rstrip(".") for n in answer.chaining_result.cnames] if hasattr(answer, "chaining_result") else []
            cnames = _cname_targets(answer)
            return [r.to_text() for r in answer], cnames or chain, None

        (a4, c4, e4), (a6, c6, e6) = await asyncio.gather(one("A"), one("AAAA"))
        addresses = tuple(dict.fromkeys(a4 + a6))
        if not addresses:
            if isinstance(e4, dns.exception.Timeout) or isinstance(e6, dns.exception.Timeout):
                raise NetTimeout(host, "DNS answer")
            detail = "no such domain (NXDOMAIN)" if isinstance(e4, dns.resolver.NXDOMAIN) else "no A or AAAA record"
            if isinstance(e4, dns.resolver.NoNameservers):
                detail = "the DNS servers for this name failed to answer (SERVFAIL)"
            raise NameNotFound(host, detail)
        return Resolution(host, addresses, tuple(dict.fromkeys(c4 + c6)), "dns")

    async def addresses(self, host: str, port: int) -> tuple[str, ...]:
        """Resolved and vetted addresses; raises PrivateAddress/PortNotAllowed first."""
        if not self.policy.port_allowed(port):
            raise PortNotAllowed(host, port)
        res = await self.resolve(host, port)
        self.vet(host, res.addresses)
        return res.addresses

    def vet(self, host: str, addresses: Sequence[str]) -> None:
        """Raise PrivateAddress unless every address is public. A numeric host name is
        vetted under every reading too: ``172.016.5.4`` is 172.14.5.4 to inet_aton but
        172.16.5.4 to a decimal parser, and either reading being private refuses it."""
        if self.policy.allow_private:
            return
        for address in (*addresses, *literal_readings(host)):
            reason = non_public_reason(address)
            if reason:
                raise PrivateAddress(host, address, reason)

    # -- raw TCP (for the TLS diagnosis, run in a thread) -------------------
    def connect_tcp(self, host: str, addresses: Sequence[str], port: int, timeout: float) -> tuple[socket.socket, str]:
        """Blocking connect to the first vetted address that answers."""
        self.vet(host, addresses)
        last: NetError = ConnectFailed(host, "", "no address")
        for address in addresses:
            budget = min(timeout, self.deadline.remaining())
            if budget <= 0:
                raise NetTimeout(host, "connection")
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.settimeout(budget)
            try:
                sock.connect((address, port))
                self.connections_opened += 1
                return sock, address
            except socket.timeout:
                sock.close()
                last = NetTimeout(host, "connection")
            except OSError as exc:
                sock.close()
                last = ConnectFailed(host, address, exc.strerror or str(exc))
        raise last

    # -- HTTP -----------------------------------------------------------------
    def ssl_context(self, verify: bool = True) -> ssl.SSLContext:
        """Shared across runs: loading a trust store costs 15-20 ms of CPU, and doing it
        on the event loop at the start of every run held up every other step."""
        if not verify:
            return _ssl_context(None, 0, 0)
        store = self.policy.trust_store
        st = os.stat(store)
        return _ssl_context(store, st.st_mtime_ns, st.st_size)

    def _context(self, verify: bool) -> asyncio.Future[ssl.SSLContext]:
        """The client context, made in a worker thread. The first time in a process it
        loads the trust store: certifi's bundle costs about 40 ms of CPU (CPython releases
        the GIL while OpenSSL reads it), which on the event loop held up every other step
        of the run - and the CLI pays it on every run. Later runs find it cached at once."""
        fut = self._contexts.get(verify)
        if fut is None:
            fut = asyncio.ensure_future(asyncio.to_thread(self.ssl_context, verify))
            self._contexts[verify] = fut
        return fut

    async def _transport(self, verify: bool) -> httpx.AsyncHTTPTransport:
        """One pooled transport per trust mode; requests go straight to it (no client-side
        redirect, cookie or decompression logic: redirects are ours to vet, bodies stay raw)."""
        transport = self._transports.get(verify)
        if transport is None:
            context = await asyncio.shield(self._context(verify))
            transport = self._transports.get(verify)  # made by a request that awaited first
        if transport is None:
            transport = httpx.AsyncHTTPTransport(verify=context, retries=0)  # no default context built
            transport._pool = httpcore.AsyncConnectionPool(  # noqa: SLF001 - the only way to pin
                ssl_context=context,
                max_connections=20,
                max_keepalive_connections=10,
                keepalive_expiry=10.0,
                http1=True,
                http2=False,
                retries=0,
                network_backend=_VettedBackend(self),
            )
            self._transports[verify] = transport
        return transport

    async def fetch(
        self,
        url: str,
        *,
        method: str = "GET",
        headers: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
        follow_redirects: int = 0,
        verify: bool = True,
        timeout: float = READ_TIMEOUT,
        max_body: int = MAX_BODY,
    ) -> HttpResult:
        """One request (plus at most ``follow_redirects`` vetted hops, GET only)."""
        started = time.monotonic()
        history: list[tuple[int, str]] = []
        seen = {url}
        current = url
        limit = min(follow_redirects, MAX_REDIRECTS)
        while True:
            result = await self._exchange(method, current, headers, data, verify, timeout, max_body)
            if not (300 <= result.status < 400 and result.location and len(history) < limit):
                break
            host = urlsplit(current).hostname or ""
            try:
                nxt = result.location
            except ValueError:  # a Location urljoin cannot read (broken IPv6 brackets ...)
                raise RedirectRefused(host, (result.header("location") or "")[:200], "not a valid address") from None
            self._vet_redirect(host, nxt)
            if nxt in seen:
                raise RedirectRefused(host, nxt, "redirect loop")
            seen.add(nxt)
            history.append((result.status, current))
            current, method, data = nxt, "GET", None
        return HttpResult(
            url=result.url,
            status=result.status,
            headers=result.headers,
            body=result.body,
            truncated=result.truncated,
            history=tuple(history),
            verified=verify,
            elapsed_ms=int((time.monotonic() - started) * 1000),
        )

    def _vet_redirect(self, host: str, location: str) -> None:
        try:
            parts = urlsplit(location)
            hostname = parts.hostname
        except ValueError:
            raise RedirectRefused(host, location[:200], "not a valid address") from None
        if parts.scheme not in ("https", "http"):
            raise RedirectRefused(host, location, "not a web address")
        if parts.username or parts.password:
            raise RedirectRefused(host, location, "credentials in the address")
        if not hostname:
            raise RedirectRefused(host, location, "no host")
        # An IP literal in any spelling is vetted here, before httpx (which rejects some
        # spellings with its own exception) ever sees it.
        self.vet(hostname, ())

    async def _exchange(self, method, url, headers, data, verify, timeout, max_body) -> HttpResult:
        host = urlsplit(url).hostname or ""
        budget = self.deadline.timeout(timeout)
        if self.deadline.expired:
            raise NetTimeout(host, "time left in this run")
        transport = await self._transport(verify)
        try:
            request = httpx.Request(method, url, headers={"User-Agent": USER_AGENT, **(headers or {})}, data=data)
        except (httpx.InvalidURL, ValueError) as exc:  # a server-sent URL httpx cannot use
            raise BadResponse(host, f"unusable address ({_reason(exc)})") from None
        request.extensions["timeout"] = httpx.Timeout(budget, connect=min(CONNECT_TIMEOUT, budget)).as_dict()
        try:
            async with asyncio.timeout(budget):
                resp = await transport.handle_async_request(request)
                try:
                    body = bytearray()
                    truncated = False
                    async for chunk in resp.aiter_raw():
                        body += chunk
                        if len(body) > max_body:
                            truncated = True
                            del body[max_body:]
                            break
                finally:
                    await resp.aclose()
                return HttpResult(
                    url=url,
                    status=resp.status_code,
                    headers=tuple((k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in resp.headers.raw),
                    body=bytes(body),
                    truncated=truncated,
                    verified=verify,
                )
        except (TimeoutError, httpx.TimeoutException):
            raise NetTimeout(host, "HTTP answer") from None
        except httpx.ConnectError as exc:
            raise ConnectFailed(host, "", _reason(exc)) from exc
        except httpx.HTTPError as exc:
            raise BadResponse(host, _reason(exc)) from exc

    async def aclose(self) -> None:
        for transport in self._transports.values():
            await transport.aclose()
        self._transports.clear()
        for fut in self._contexts.values():  # a store that failed to load and nobody asked for
            if fut.done() and not fut.cancelled():
                fut.exception()
            fut.cancel()


_ALPN = ["http/1.1"]


def _keep_alpn(alpn_protocols) -> None:
    """Stands in for ``set_alpn_protocols`` on the shared contexts (see below)."""
    if list(alpn_protocols) != _ALPN:
        raise ValueError("shared TLS contexts speak HTTP/1.1 only")


@functools.lru_cache(maxsize=8)
def _ssl_context(cafile: str | None, mtime_ns: int, size: int) -> ssl.SSLContext:
    """A client context validating against ``cafile`` like ``ssl.create_default_context``
    (None: no validation and no store loaded), one per trust-store file version.

    Runs in several threads share it, so it must never change after it is made.
    httpcore sets ALPN on its context before every connection; the value is always ours
    (HTTP/1.1 only), so that call becomes a no-op instead of a mutation that could race
    another thread's handshake setup. The no-op is an instance attribute, not a
    subclass: anyio hands ``wrap_bio`` of any SSLContext subclass to a worker thread
    (a subclass might block there), which cost every HTTPS connection a thread hop and a
    run about 6 thread starts; a plain ``ssl.SSLContext`` is wrapped inline."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if cafile is not None:
        ctx.load_verify_locations(cafile=cafile)
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_alpn_protocols(_ALPN)
    ctx.set_alpn_protocols = _keep_alpn  # type: ignore[method-assign]
    return ctx


class _VettedBackend(httpcore.AsyncNetworkBackend):
    """httpcore backend that connects only to vetted addresses of the requested name."""

    def __init__(self, network: Network):
        self._net = network
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        addresses = await self._net.addresses(host, port)
        last: Exception | None = None
        for address in addresses:
            try:
                stream = await self._inner.connect_tcp(address, port, timeout=timeout, socket_options=socket_options)
                self._net.connections_opened += 1
                return stream
            except (httpcore.ConnectError, httpcore.ConnectTimeout, OSError) as exc:
                last = exc
        if isinstance(last, httpcore.ConnectTimeout):
            raise NetTimeout(host, "connection")
        raise ConnectFailed(host, ",".join(addresses), _reason(last) if last else "no address")

    async def connect_unix_socket(self, *args, **kwargs):  # pragma: no cover - never used
        raise ConnectFailed("unix", "", "unix sockets are not used")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


#: A host made only of numbers (decimal, 0-octal, 0x-hex), one to four parts: an IPv4
#: literal to inet_aton, curl and browsers, never a DNS name.
_NUMERIC_HOST = re.compile(r"(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}\.?", re.IGNORECASE)


def ip_literal(host: str) -> str | None:
    """The address an IP literal in any spelling stands for (dotted, decimal, octal, hex,
    short forms, bracketed IPv6), or None for a host name."""
    readings = literal_readings(host)
    return readings[0] if readings else None


def literal_readings(host: str) -> tuple[str, ...]:
    """Every address a parser could take an IP literal for: the inet_aton reading (octal
    for a leading 0, hex for 0x, short forms) first, then the all-decimal reading when it
    differs (``010.0.0.1`` is 8.0.0.1 or 10.0.0.1, depending on who reads it). Empty for a
    host name or for numbers that are no address."""
    h = host.strip().strip("[]").split("%", 1)[0]
    try:
        return (str(ipaddress.ip_address(h)),)
    except ValueError:
        pass
    if not _NUMERIC_HOST.fullmatch(h):
        return ()
    h = h.rstrip(".")
    readings: list[str] = []
    try:
        readings.append(socket.inet_ntoa(socket.inet_aton(h)))
    except OSError:
        pass
    decimal = _decimal_reading(h)
    if decimal is not None and decimal not in readings:
        readings.append(decimal)
    return tuple(readings)


def _decimal_reading(h: str) -> str | None:
    parts = h.split(".")
    if not all(p.isdigit() for p in parts):
        return None
    numbers = [int(p, 10) for p in parts]
    head, last = numbers[:-1], numbers[-1]
    if any(n > 255 for n in head) or last >= 1 << (8 * (5 - len(numbers))):
        return None
    value = 0
    for n in head:
        value = value << 8 | n
    value = value << (8 * (5 - len(numbers))) | last
    return str(ipaddress.IPv4Address(value))


def _cname_targets(answer: Any) -> list[str]:
    out = []
    for rrset in getattr(answer.response, "answer", []):
        if rrset.rdtype == dns.rdatatype.CNAME:
            out.extend(str(r.target).rstrip(".") for r in rrset)
    return out


def _reason(exc: BaseException | None) -> str:
    """The most specific human text in an exception chain (httpx hides ssl errors)."""
    seen = set()
    texts = []
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.strerror:
            texts.append(exc.strerror)
        elif str(exc):
            texts.append(str(exc))
        exc = exc.__cause__ or exc.__context__
    return texts[-1] if texts else "connection failed"


def ssl_error_in(exc: BaseException) -> ssl.SSLError | None:
    """Find an ssl.SSLError in __cause__, __context__ or args (httpx hides it there)."""
    stack = [exc]
    seen = set()
    while stack:
        cur = stack.pop()
        if cur is None or id(cur) in seen:
            continue
        seen.add(id(cur))
        if isinstance(cur, ssl.SSLError):
            return cur
        stack.extend([cur.__cause__, cur.__context__])
        stack.extend(a for a in getattr(cur, "args", ()) if isinstance(a, BaseException))
    return None
