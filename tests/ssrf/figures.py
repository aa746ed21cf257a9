"""Print hardening figures (targets tried, connections seen, peak memory ...) even under
``pytest -q``: the closing note of the hardening issue quotes them."""

from __future__ import annotations

from typing import Iterable

import pytest


def show(request: pytest.FixtureRequest, title: str, lines: Iterable[str]) -> None:
    """Write ``title`` and ``lines`` to the terminal, bypassing output capture."""
    text = "\n".join([f"\n== {title}", *(f"   {line}" for line in lines)]) + "\n"
    capture = request.config.pluginmanager.getplugin("capturemanager")
    if capture is None:
        print(text)
        return
    with capture.global_and_fixture_disabled():
        print(text, flush=True)
