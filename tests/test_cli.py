"""The command line contract: exit codes, one-line errors, JSON on stdout."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.lab.fake_canvas import FakeCanvas


def cli(*args, env=None, input=None):
    return subprocess.run([sys.executable, "-m", "diagnostics", *args], capture_output=True, text=True,
                          env=env, input=input, timeout=60)


@pytest.mark.parametrize("args", [
    ["check", "javascript:alert(1)"],
    ["check", "https://user:pw@canvas.uni.edu"],
    ["check", ""],
    ["check", "127.0.0.1"],
    ["check", "canvas.uni.edu", "--region", "mars"],
    ["check", "canvas.uni.edu", "--resolve", "nonsense"],
    ["check", "canvas.uni.edu", "--deadline", "-1"],
    ["check", "canvas.uni.edu", "--ca-bundle", "/nonexistent.pem"],
    ["check"],
    ["frobnicate"],
    [],
])
def test_unusable_input_exits_2_with_one_line(args):
    r = cli(*args)
    assert r.returncode == 2
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "Traceback" not in r.stderr


def test_help_lists_the_contract_options():
    r = cli("check", "--help")
    assert r.returncode == 0
    for option in ["--json", "--region", "--client-id", "--redirect-uri", "--secret-stdin", "--ca-bundle",
                   "--resolve", "--allow-private", "--deadline"]:
        assert option in r.stdout


def test_check_json_ready_exits_0(canvas_lab):
    lab = canvas_lab(FakeCanvas(hosted=False))
    r = cli("check", lab.url, "--json", *lab.cli_args(), env=lab.env())
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["verdict"] == "ready"
    codes = {f["code"]: f["status"] for f in report["findings"]}
    assert codes["tls.trusted"] == "pass" and codes["canvas.detected"] == "pass"
    assert report["hosting"]["kind"] == "self_hosted"


def test_check_failure_exits_1_and_reads_like_a_report(canvas_lab):
    lab = canvas_lab(FakeCanvas(canvas_headers=False))
    r = cli("check", lab.url, *lab.cli_args(), env=lab.env())
    assert r.returncode == 1, r.stderr
    assert "ACTION NEEDED" in r.stdout
    assert "[FAIL] Canvas: This does not look like Canvas  (canvas.not_detected)" in r.stdout
    assert "1. Log in to Canvas" in r.stdout


def test_private_address_without_allow_private(canvas_lab):
    lab = canvas_lab()
    r = cli("check", lab.url, "--json", "--resolve", f"{lab.host}:{lab.port}:127.0.0.1", env=lab.env())
    assert r.returncode == 1
    report = json.loads(r.stdout)
    assert [f["code"] for f in report["findings"]] == ["net.private_address"]
    assert report["verdict"] == "blocked"
    assert lab.server.requests == []
