"""A fake Canvas that behaves as reference/canvas-badgr.md describes.

``FakeCanvas`` holds the instance's state (hosted or self-hosted, environment, developer
keys); ``FakeCanvas.handler()`` gives a request handler for tests/lab/servers.serve_http.
Routes are a table (``ROUTES``) so each area adds its endpoints in one place.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Callable
from urllib.parse import urlsplit

from .servers import LabHandler


@dataclass
class FakeCanvas:
    """State of one fake instance.

    Attributes:
        hosted: send Instructure-hosted headers (cluster/zone in X-Canvas-Meta, P3P,
            X-Request-Processor); self-hosted installs lack them.
        environment: production, beta or test (only shows in hosted headers' cluster).
        canvas_headers: False makes a site that answers but is not Canvas-like at all.
    """

    hosted: bool = False
    environment: str = "production"
    canvas_headers: bool = True
    extra_routes: dict[tuple[str, str], Callable[["CanvasHandler"], None]] = field(default_factory=dict)

    def handler(self) -> type["CanvasHandler"]:
        canvas = self
        return type("BoundCanvasHandler", (CanvasHandler,), {"canvas": canvas})


class CanvasHandler(LabHandler):
    canvas: FakeCanvas

    # -- plumbing -------------------------------------------------------------
    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        self._dispatch("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def do_HEAD(self) -> None:  # noqa: N802
        self._dispatch("GET")

    def _dispatch(self, method: str) -> None:
        self.record()
        path = urlsplit(self.path).path
        route = self.canvas.extra_routes.get((method, path)) or ROUTES.get((method, path))
        if route is None:
            self.canvas_json(404, {"errors": [{"message": "The specified resource does not exist."}]})
            return
        route(self)

    def canvas_headers(self) -> dict[str, str]:
        if not self.canvas.canvas_headers:
            return {"Server": "nginx"}
        meta = "q=1;a=1;g=abc;s=1;o=users;n=show;t=User;i=1;b=1;m=1;u=0.01;y=0.00;d=0.00;"
        headers = {
            "X-Request-Context-Id": str(uuid.uuid4()),
            "X-Session-Id": uuid.uuid4().hex,
            "X-Request-Cost": "0.01",
            "X-Rate-Limit-Remaining": "700.0",
        }
        if self.canvas.hosted:
            cluster = {"production": "cluster21", "beta": "cluster21beta", "test": "cluster21test"}[self.canvas.environment]
            meta += f"c={cluster};z=us-east-1b;"
            headers["P3P"] = 'CP="None, see http://www.instructure.com/privacy-policy"'
            headers["X-Request-Processor"] = str(uuid.uuid4())
        headers["X-Canvas-Meta"] = meta
        return headers

    def canvas_json(self, status: int, payload: object, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(payload)
        if "application/json" not in (self.headers.get("Accept") or ""):
            body = "while(1);" + body
        self.answer(status, body, {"Content-Type": "application/json; charset=utf-8", **self.canvas_headers(), **(headers or {})})

    def canvas_redirect(self, location: str, status: int = 302) -> None:
        self.answer(status, f'<html><body>You are being <a href="{location}">redirected</a>.</body></html>',
                    {"Location": location, "Content-Type": "text/html", **self.canvas_headers()})


def _users_self(h: CanvasHandler) -> None:
    if not h.canvas.canvas_headers:
        h.answer(200, "<html><body>Welcome to our campus portal</body></html>", {"Content-Type": "text/html"})
        return
    h.canvas_json(
        401,
        {"status": "unauthenticated", "errors": [{"message": "user authorization required"}]},
        {"WWW-Authenticate": 'Bearer realm="canvas-lms"'},
    )


def _login_canvas(h: CanvasHandler) -> None:
    if not h.canvas.canvas_headers:
        h.answer(404, "not found", {"Content-Type": "text/plain"})
        return
    h.answer(200, '<!DOCTYPE html><html><head><title>Log In to Canvas</title></head>'
                  '<body><form action="/login/canvas" method="post"><input name="pseudonym_session[unique_id]">'
                  '</form></body></html>', {"Content-Type": "text/html; charset=utf-8", **h.canvas_headers()})


def _root(h: CanvasHandler) -> None:
    if not h.canvas.canvas_headers:
        h.answer(200, "<html><body>Welcome to our campus portal</body></html>", {"Content-Type": "text/html"})
        return
    h.canvas_redirect(f"https://{h.headers.get('Host')}/login/canvas")


def _login(h: CanvasHandler) -> None:
    h.canvas_redirect(f"https://{h.headers.get('Host')}/login/canvas")


ROUTES: dict[tuple[str, str], Callable[[CanvasHandler], None]] = {
    ("GET", "/"): _root,
    ("GET", "/login"): _login,
    ("GET", "/login/canvas"): _login_canvas,
    ("GET", "/api/v1/users/self"): _users_self,
}
