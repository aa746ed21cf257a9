"""Badgr regions: web and API hosts, and the operator's redirect URIs and icon URL.

The shipped table is ``knowledge/regions.toml`` (hosts from reference §2, URIs empty).
An operator sets ``CONNECT_CHECK_REGIONS=/path/to/regions.toml`` to a file of the same
shape; its fields replace the shipped ones region by region, so a file holding only
``[regions.eu] redirect_uris = [...]`` is enough. Tests use the same override to point a
region's API host at a local server.

:func:`load` raises :class:`RegionsError` (one sentence) when a file is unusable: a
broken operator file must be noticed, not silently replaced by defaults.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

__all__ = ["Region", "RegionsError", "REGIONS_PATH", "ENV_VAR", "load", "get", "keys"]

REGIONS_PATH = Path(__file__).parent / "knowledge" / "regions.toml"
ENV_VAR = "CONNECT_CHECK_REGIONS"


class RegionsError(ValueError):
    """The regions file (shipped or operator's) cannot be used; ``str()`` says why."""


@dataclass(frozen=True)
class Region:
    """One Badgr region.

    Attributes:
        key: us, eu, ca, au, sg or test (or an operator's own key).
        name: what a person calls it ("Europe (Ireland)").
        web: web host people log in to (eu.badgr.com).
        api_host: API host name Badgr's servers use (api.eu.badgr.io).
        api_port: its HTTPS port (443 unless an operator file says otherwise).
        redirect_uris: the redirect URI(s) Badgr support gives out for this region; empty
            until an operator configures them.
        icon_url: the Developer Key icon URL Badgr support gives out, or "".
    """

    key: str
    name: str
    web: str
    api_host: str
    api_port: int = 443
    redirect_uris: tuple[str, ...] = ()
    icon_url: str = ""

    @property
    def api_origin(self) -> str:
        return f"https://{self.api_host}" if self.api_port == 443 else f"https://{self.api_host}:{self.api_port}"

    @property
    def web_origin(self) -> str:
        return f"https://{self.web}"

    @property
    def redirect_uri(self) -> str | None:
        """The redirect URI the Developer Key probe uses for this region, if configured."""
        return self.redirect_uris[0] if self.redirect_uris else None


def load(environ: Mapping[str, str] | None = None) -> dict[str, Region]:
    """Every region: the shipped table with the operator's file (if any) laid over it."""
    env = os.environ if environ is None else environ
    override = (env.get(ENV_VAR) or "").strip() or None
    stamp = None
    if override:
        try:
            stamp = os.stat(override).st_mtime_ns
        except OSError as exc:
            raise RegionsError(f"{ENV_VAR}={override}: {exc.strerror or 'cannot be read'}") from None
    return dict(_load_cached(override, stamp))


def get(key: str | None, environ: Mapping[str, str] | None = None) -> Region | None:
    """The region for ``key`` (case-insensitive), or None for an unknown or empty key."""
    if not key:
        return None
    return load(environ).get(key.strip().lower())


def keys(environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    return tuple(load(environ))


@lru_cache(maxsize=8)
def _load_cached(override: str | None, _stamp: int | None) -> tuple[tuple[str, Region], ...]:
    raw: dict[str, dict[str, Any]] = {k: dict(v) for k, v in _read(REGIONS_PATH).items()}
    if override:
        for key, body in _read(Path(override)).items():
            raw.setdefault(key, {}).update(body)
    return tuple((key, _region(key, body, override or str(REGIONS_PATH))) for key, body in raw.items())


def _read(path: Path) -> dict[str, Mapping[str, Any]]:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise RegionsError(f"{path}: {exc.strerror or 'cannot be read'}") from None
    except tomllib.TOMLDecodeError as exc:
        raise RegionsError(f"{path}: not valid TOML ({exc})") from None
    regions = data.get("regions")
    if not isinstance(regions, dict) or not all(isinstance(v, dict) for v in regions.values()):
        raise RegionsError(f"{path}: expected [regions.<key>] tables")
    return {str(k).lower(): v for k, v in regions.items()}


def _region(key: str, body: Mapping[str, Any], source: str) -> Region:
    web, api = body.get("web"), body.get("api")
    if not isinstance(web, str) or not web.strip() or not isinstance(api, str) or not api.strip():
        raise RegionsError(f"{source}: region {key!r} needs a web and an api host")
    api_host, api_port = _host_port(api, key, source)
    uris = body.get("redirect_uris", [])
    if isinstance(uris, str):
        uris = [uris]
    if not isinstance(uris, list) or not all(isinstance(u, str) for u in uris):
        raise RegionsError(f"{source}: region {key!r}: redirect_uris must be a list of strings")
    icon = body.get("icon_url", "")
    if not isinstance(icon, str):
        raise RegionsError(f"{source}: region {key!r}: icon_url must be a string")
    return Region(
        key=key,
        name=str(body.get("name") or key),
        web=_bare_host(web),
        api_host=api_host,
        api_port=api_port,
        redirect_uris=tuple(u.strip() for u in uris if u.strip()),
        icon_url=icon.strip(),
    )


def _bare_host(text: str) -> str:
    s = text.strip()
    if "://" in s:
        s = s.split("://", 1)[1]
    return s.split("/", 1)[0].lower().rstrip(".")


def _host_port(text: str, key: str, source: str) -> tuple[str, int]:
    host, sep, port = _bare_host(text).rpartition(":")
    if not sep:
        return _bare_host(text), 443
    if not port.isdigit() or not 0 < int(port) < 65536 or not host:
        raise RegionsError(f"{source}: region {key!r}: api {text!r} is not host or host:port")
    return host, int(port)
