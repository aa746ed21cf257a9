"""Wall time of a full check of a local fake Canvas next to one bare TLS handshake.

    .venv/bin/python bench/check_bench.py [--runs 15]

Starts a fake Canvas over HTTPS on 127.0.0.1 (trustme CA, lab DNS server), then prints
the median, min and max of (a) `openssl s_client` completing one handshake against it and
(b) a full `run_check` (DNS, TLS diagnosis, Canvas fingerprint, hosting). Figures only:
nothing here asserts.
"""

from __future__ import annotations

import argparse
import pathlib
import ssl
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import trustme  # noqa: E402

from diagnostics.net import NetPolicy  # noqa: E402
from diagnostics.runner import Options, run_check  # noqa: E402
from diagnostics.target import parse  # noqa: E402
from tests.lab.fake_canvas import FakeCanvas  # noqa: E402
from tests.lab.servers import DnsZone, serve_dns, serve_http  # noqa: E402


def summary(name: str, samples: list[float]) -> str:
    return (f"{name:<34} median {statistics.median(samples):7.1f} ms   "
            f"min {min(samples):7.1f}   max {max(samples):7.1f}   (n={len(samples)})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args()
    host = "canvas.bench.test"
    ca = trustme.CA()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert(host).configure_cert(ctx)
    zone = DnsZone(a={host: ["127.0.0.1"]})
    with tempfile.TemporaryDirectory() as tmp, serve_dns(zone) as ns, \
            serve_http(FakeCanvas().handler(), host=host, ssl_context=ctx) as srv:
        bundle = pathlib.Path(tmp) / "ca.pem"
        ca.cert_pem.write_to_path(str(bundle))
        policy = NetPolicy(allow_private=True, ca_bundle=str(bundle), ports=None, nameservers=(ns,))
        handshake, full = [], []
        for _ in range(args.runs):
            t = time.perf_counter()
            subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{srv.port}", "-servername", host],
                           input=b"", capture_output=True, check=False)
            handshake.append((time.perf_counter() - t) * 1000)
        run_check(parse(srv.url), Options(), policy)  # warm imports and the trust store cache
        for _ in range(args.runs):
            t = time.perf_counter()
            report = run_check(parse(srv.url), Options(), policy)
            full.append((time.perf_counter() - t) * 1000)
        print(f"target {srv.url} (loopback, verdict {report.verdict.value}, {len(report.findings)} findings)")
        print(summary("openssl s_client (1 handshake)", handshake))
        print(summary("full check (run_check)", full))
        print(f"{'ratio full / handshake':<34} {statistics.median(full) / statistics.median(handshake):7.2f}x")


if __name__ == "__main__":
    main()
