"""The bench lab: local TLS servers and the fake Canvas behind a delay proxy.

    .venv/bin/python bench/harness.py serve [--rtt 150]     # run it by hand (Ctrl-C stops)

Benchmarks start it as a child process (:class:`Lab`), so the servers and the proxy
never compete with the measured client for the GIL. What runs inside:

    client ──► UDP delay proxy ──► lab DNS server (tests.lab.servers.serve_dns)
    client ──► TCP delay proxy ──► fake Canvas, self-hosted (tests.lab.fake_canvas), with a
                                   Developer Key whose redirect URI is REDIRECT_URI
    client ──► TCP delay proxy ──► Badgr API host for region "us" (regions file written here)
    client ──► TCP delay proxy ──► a second fake Canvas answering BATCH_HOSTS (batch bench)

Certificates come from tests.lab.pki (root + issuing CA, leaf and intermediate sent);
the root is written to ``ca_bundle``. All names resolve to 127.0.0.1 through the lab DNS.

The delay proxy adds a round-trip time: every burst of bytes read on one side is written
to the other RTT/2 later (order kept, per direction), and because a connection to the
proxy completes at once on loopback, the first client bytes of each connection wait one
more RTT: the TCP handshake a real network would cost before the client could send. The
DNS proxy delays each query and each answer by RTT/2. The proxies count connections
(queries) and bytes in both directions.

The servers differ from the test lab's in two ways that matter for timing and nothing
else: the TLS handshake runs in the connection's own thread (the test servers do it in
the accept loop, which serialises handshakes: at 150 ms RTT five parallel connections
would queue for 5 × 150 ms), and TCP_NODELAY is set (like nginx's ``tcp_nodelay on``;
without it the header and body writes meet delayed ACKs and every exchange on loopback
costs 40 ms).

Control protocol (one line in, one JSON line out, on the child's stdin/stdout):
``rtt <ms>``, ``stats``, ``reset``, ``quit``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pathlib
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CANVAS_HOST = "canvas.bench.test"
BADGR_HOST = "api.us.badgr.bench.test"
BATCH_HOSTS = tuple(f"c{i:03d}.batch.bench.test" for i in range(200))
REDIRECT_URI = "https://badgr.bench.test/auth/canvas/callback"
REGION = "us"


# ----------------------------------------------------------------------------- delay proxies


@dataclass
class Counters:
    connections: int = 0
    bytes_up: int = 0
    bytes_down: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"connections": self.connections, "bytes_up": self.bytes_up, "bytes_down": self.bytes_down}


@dataclass
class Delay:
    """The RTT every proxy reads (seconds); changed at run time by the ``rtt`` command."""

    rtt: float = 0.0


class TcpDelayProxy:
    """127.0.0.1:port -> upstream, each direction delayed RTT/2 per burst (see module doc)."""

    def __init__(self, upstream: tuple[str, int], delay: Delay):
        self.upstream = upstream
        self.delay = delay
        self.counters = Counters()
        self.port = 0
        self._tasks: set[asyncio.Task[None]] = set()  # asyncio keeps only weak references

    async def start(self) -> None:
        server = await asyncio.start_server(self._handle, "127.0.0.1", 0, backlog=512)
        self.port = server.sockets[0].getsockname()[1]

    async def _handle(self, c_reader: asyncio.StreamReader, c_writer: asyncio.StreamWriter) -> None:
        me = asyncio.current_task()
        if me is not None:
            self._tasks.add(me)
            me.add_done_callback(self._tasks.discard)
        accepted = time.monotonic()
        rtt = self.delay.rtt
        self.counters.connections += 1
        try:
            u_reader, u_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            c_writer.close()
            return
        for w in (c_writer, u_writer):
            sock = w.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # the client may send only after the TCP handshake (1 RTT), then it travels RTT/2
        first_up = accepted + rtt + rtt / 2
        await asyncio.gather(
            self._pump(c_reader, u_writer, "bytes_up", not_before=first_up),
            self._pump(u_reader, c_writer, "bytes_down", not_before=0.0),
            return_exceptions=True,
        )
        for w in (c_writer, u_writer):
            w.close()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, counter: str,
                    not_before: float) -> None:
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def deliver() -> None:
            while True:
                due, data = await queue.get()
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                if not data:
                    if writer.can_write_eof():
                        try:
                            writer.write_eof()
                        except OSError:
                            pass
                    return
                writer.write(data)
                await writer.drain()

        task = asyncio.ensure_future(deliver())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        last_due = not_before
        try:
            while True:
                try:
                    data = await reader.read(65536)
                except OSError:
                    data = b""
                setattr(self.counters, counter, getattr(self.counters, counter) + len(data))
                last_due = max(last_due, time.monotonic() + self.delay.rtt / 2)
                queue.put_nowait((last_due, data))
                if not data:
                    break
            await task
        except (OSError, asyncio.CancelledError):
            task.cancel()


class UdpDelayProxy:
    """DNS over UDP, each query and each answer delayed RTT/2."""

    def __init__(self, upstream: tuple[str, int], delay: Delay):
        self.upstream = upstream
        self.delay = delay
        self.counters = Counters()
        self.port = 0
        self._transport: asyncio.DatagramTransport | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        proxy = self

        class Front(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
                proxy.counters.connections += 1
                proxy.counters.bytes_up += len(data)
                loop.create_task(proxy._forward(data, addr))

        self._transport, _ = await loop.create_datagram_endpoint(Front, local_addr=("127.0.0.1", 0))
        self.port = self._transport.get_extra_info("sockname")[1]

    async def _forward(self, data: bytes, client: tuple[str, int]) -> None:
        loop = asyncio.get_running_loop()
        await asyncio.sleep(self.delay.rtt / 2)
        answered: asyncio.Future[bytes] = loop.create_future()

        class Back(asyncio.DatagramProtocol):
            def datagram_received(self, reply: bytes, addr: tuple[str, int]) -> None:
                if not answered.done():
                    answered.set_result(reply)

        transport, _ = await loop.create_datagram_endpoint(Back, remote_addr=self.upstream)
        try:
            transport.sendto(data)
            reply = await asyncio.wait_for(answered, 5)
        except asyncio.TimeoutError:
            return
        finally:
            transport.close()
        await asyncio.sleep(self.delay.rtt / 2)
        self.counters.bytes_down += len(reply)
        assert self._transport is not None
        self._transport.sendto(reply, client)


# ----------------------------------------------------------------------------- servers


def bench_server(handler, ssl_context: ssl.SSLContext, host: str):
    """A threading HTTPS server on 127.0.0.1 that handshakes in the connection's thread."""
    from http.server import ThreadingHTTPServer

    from tests.lab.servers import RunningServer

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        allow_reuse_address = True
        request_queue_size = 512

        def get_request(self):
            sock, addr = super().get_request()
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return sock, addr

        def finish_request(self, request, client_address):
            request.settimeout(15)
            try:
                tls = ssl_context.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                return
            try:
                self.RequestHandlerClass(tls, client_address, self)
            finally:
                try:
                    tls.close()
                except OSError:
                    pass

        def handle_error(self, request, client_address):  # clients hang up on purpose
            pass

    server = Server(("127.0.0.1", 0), handler)
    server.running = RunningServer(host, server.server_address[1])  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server


def _context(leaf) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    leaf.configure_cert(ctx)
    return ctx


def serve(rtt_ms: float, interactive: bool) -> None:
    """Start everything, print the lab's description as one JSON line, obey commands."""
    from tests.lab import pki
    from tests.lab.fake_canvas import FakeCanvas
    from tests.lab.fx_canvas import BadgrApiHandler
    from tests.lab.servers import DnsZone, serve_dns

    tmp = pathlib.Path(tempfile.mkdtemp(prefix="connect-check-bench-"))
    root = pki.CA("Connect Check Bench Root CA")
    issuing = root.create_child_ca("Connect Check Bench Issuing CA")
    bundle = root.write_bundle(tmp / "ca.pem")

    canvas = FakeCanvas()
    key = canvas.add_key(redirect_uris=[REDIRECT_URI])
    canvas_srv = bench_server(canvas.handler(), _context(issuing.issue_cert(CANVAS_HOST)), CANVAS_HOST)
    badgr_srv = bench_server(BadgrApiHandler, _context(issuing.issue_cert(BADGR_HOST)), BADGR_HOST)
    batch_srv = bench_server(FakeCanvas().handler(), _context(issuing.issue_cert(*BATCH_HOSTS)), BATCH_HOSTS[0])

    zone = DnsZone(a={name: ["127.0.0.1"] for name in (CANVAS_HOST, BADGR_HOST, *BATCH_HOSTS)})
    dns_cm = serve_dns(zone)
    dns_addr = dns_cm.__enter__()

    delay = Delay(rtt_ms / 1000)
    proxies: dict[str, Any] = {
        "canvas": TcpDelayProxy(("127.0.0.1", canvas_srv.server_address[1]), delay),
        "badgr": TcpDelayProxy(("127.0.0.1", badgr_srv.server_address[1]), delay),
        "batch": TcpDelayProxy(("127.0.0.1", batch_srv.server_address[1]), delay),
        "dns": UdpDelayProxy(tuple(dns_addr), delay),
    }
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    for proxy in proxies.values():
        asyncio.run_coroutine_threadsafe(proxy.start(), loop).result(5)

    regions = tmp / "regions.toml"
    regions.write_text(f'[regions.{REGION}]\napi = "{BADGR_HOST}:{proxies["badgr"].port}"\n'
                       f'redirect_uris = ["{REDIRECT_URI}"]\n')
    info = {
        "ca_bundle": bundle,
        "regions_file": str(regions),
        "nameserver": ["127.0.0.1", proxies["dns"].port],
        "canvas_host": CANVAS_HOST,
        "canvas_port": proxies["canvas"].port,
        "canvas_url": f"https://{CANVAS_HOST}:{proxies['canvas'].port}",
        "client_id": key.id,
        "redirect_uri": REDIRECT_URI,
        "region": REGION,
        "badgr_port": proxies["badgr"].port,
        "batch_urls": [f"https://{h}:{proxies['batch'].port}" for h in BATCH_HOSTS],
        "direct_canvas_port": canvas_srv.server_address[1],
        "rtt_ms": rtt_ms,
    }
    print(json.dumps(info), flush=True)
    if interactive:
        print(f"lab running at {rtt_ms:g} ms RTT; in another shell:\n  CONNECT_CHECK_DNS=127.0.0.1:{proxies['dns'].port} "
              f"CONNECT_CHECK_PORTS=any CONNECT_CHECK_REGIONS={regions} .venv/bin/python -m diagnostics check "
              f"{info['canvas_url']} --allow-private --ca-bundle {bundle} --client-id {key.id} "
              f"--redirect-uri {REDIRECT_URI} --region {REGION}", file=sys.stderr, flush=True)
    try:
        _obey(sys.stdin, delay, proxies)
    finally:
        dns_cm.__exit__(None, None, None)
        shutil.rmtree(tmp, ignore_errors=True)
    sys.stdout.flush()
    os._exit(0)  # daemon threads and open proxy tasks: nothing left worth a tidy shutdown


def _obey(lines, delay: Delay, proxies: dict[str, Any]) -> None:
    """The control protocol (module doc): one JSON line out per line in, until ``quit``."""
    for line in lines:
        cmd, _, arg = line.strip().partition(" ")
        if cmd == "rtt":
            delay.rtt = float(arg) / 1000
            reply: dict[str, Any] = {"rtt_ms": float(arg)}
        elif cmd == "stats":
            reply = {name: p.counters.as_dict() for name, p in proxies.items()}
        elif cmd == "reset":
            for p in proxies.values():
                p.counters = Counters()
            reply = {"reset": True}
        elif cmd == "quit":
            break
        else:
            reply = {"error": f"unknown command {cmd!r}"}
        print(json.dumps(reply), flush=True)


# ----------------------------------------------------------------------------- client side


@dataclass
class Lab:
    """The lab as a child process; use as a context manager."""

    rtt_ms: float = 0.0
    info: dict[str, Any] = field(default_factory=dict)
    _proc: subprocess.Popen | None = None

    def __enter__(self) -> "Lab":
        self._proc = subprocess.Popen(
            [sys.executable, str(pathlib.Path(__file__).resolve()), "serve", "--rtt", str(self.rtt_ms), "--child"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=str(ROOT),
        )
        assert self._proc.stdout is not None
        self.info = json.loads(self._proc.stdout.readline())
        return self

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None:
            try:
                self._command("quit", expect_reply=False)
                self._proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired, ValueError):
                self._proc.kill()
                self._proc.wait()

    def _command(self, line: str, expect_reply: bool = True) -> dict[str, Any]:
        assert self._proc is not None and self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(line + "\n")
        self._proc.stdin.flush()
        return json.loads(self._proc.stdout.readline()) if expect_reply else {}

    def set_rtt(self, ms: float) -> None:
        self._command(f"rtt {ms}")
        self.rtt_ms = ms

    def reset(self) -> None:
        self._command("reset")

    def stats(self) -> dict[str, dict[str, int]]:
        return self._command("stats")

    def cpu_seconds(self) -> float:
        """CPU time (user + system, all threads) the lab process has used so far."""
        assert self._proc is not None
        with open(f"/proc/{self._proc.pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    # -- what the client needs ------------------------------------------------
    def policy(self, deadline: float = 30.0, **kw: Any):
        from diagnostics.net import NetPolicy

        values: dict[str, Any] = dict(allow_private=True, ca_bundle=self.info["ca_bundle"], ports=None,
                                      nameservers=(tuple(self.info["nameserver"]),), deadline=deadline)
        values.update(kw)
        return NetPolicy(**values)

    def env(self) -> dict[str, str]:
        """Environment for a CLI or portal process (and for this one's regions lookup)."""
        return {
            **os.environ,
            "CONNECT_CHECK_DNS": f"{self.info['nameserver'][0]}:{self.info['nameserver'][1]}",
            "CONNECT_CHECK_PORTS": "any",
            "CONNECT_CHECK_ALLOW_PRIVATE": "1",
            "CONNECT_CHECK_CA_BUNDLE": self.info["ca_bundle"],
            "CONNECT_CHECK_REGIONS": self.info["regions_file"],
        }

    def options(self):
        from diagnostics.runner import Options

        return Options(region=self.info["region"], client_id=self.info["client_id"],
                       redirect_uri=self.info["redirect_uri"])


# ----------------------------------------------------------------------------- small helpers


def fmt(samples: list[float]) -> str:
    """``median (min–max)`` in ms."""
    import statistics

    return f"{statistics.median(samples):7.0f} ({min(samples):.0f}–{max(samples):.0f})"


def machine() -> str:
    import platform

    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, load {os.getloadavg()[0]:.2f}"


def main() -> None:
    ap = argparse.ArgumentParser(description="Run the bench lab (servers + delay proxy) until Ctrl-C.")
    ap.add_argument("command", choices=["serve"])
    ap.add_argument("--rtt", type=float, default=0.0, help="round-trip time to add, in ms")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    try:
        serve(args.rtt, interactive=not args.child)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
