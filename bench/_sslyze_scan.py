"""Runs in bench/.venv (sslyze is never a project dependency): time sslyze certificate scans.

    bench/.venv/bin/python bench/_sslyze_scan.py HOST PORT IP CA_FILE RUNS

One ``Scanner`` run per sample with only ``certificate_info`` asked (sslyze still does its
connectivity test first, as its CLI does), after one warm-up scan so imports and trust
store loading are not counted. Prints one JSON line: the samples in ms and whether each
scan completed.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from sslyze import (
    CertificateInfoExtraArgument,
    ScanCommand,
    ScanCommandAttemptStatusEnum,
    ScanCommandsExtraArguments,
    Scanner,
    ServerNetworkLocation,
    ServerScanRequest,
)


def scan(host: str, port: int, ip: str, ca_file: str) -> bool:
    request = ServerScanRequest(
        server_location=ServerNetworkLocation(hostname=host, port=port, ip_address=ip),
        scan_commands={ScanCommand.CERTIFICATE_INFO},
        scan_commands_extra_arguments=ScanCommandsExtraArguments(
            certificate_info=CertificateInfoExtraArgument(custom_ca_file=Path(ca_file))),
    )
    scanner = Scanner()
    scanner.queue_scans([request])
    ok = False
    for result in scanner.get_results():
        attempt = result.scan_result.certificate_info if result.scan_result else None
        ok = attempt is not None and attempt.status == ScanCommandAttemptStatusEnum.COMPLETED
    return ok


def main() -> None:
    host, port, ip, ca_file, runs = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
    mode = sys.argv[6] if len(sys.argv) > 6 else "timed"
    if mode == "once":  # one scan, for counting its connections at the proxy
        print(json.dumps({"ok": scan(host, port, ip, ca_file)}), flush=True)
        return
    scan(host, port, ip, ca_file)  # warm-up
    samples, oks = [], []
    for _ in range(runs):
        started = time.perf_counter()
        oks.append(scan(host, port, ip, ca_file))
        samples.append((time.perf_counter() - started) * 1000)
    print(json.dumps({"samples": samples, "ok": all(oks)}), flush=True)


if __name__ == "__main__":
    main()
