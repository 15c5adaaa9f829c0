"""The wire vectors (tests/vectors/http/gate.json) through every Python adapter on a real
server with a real HTTP client: the ASGI middleware (Starlette), the FastAPI dependency
with the error handlers, the WSGI middleware, Flask (extension and decorator), Django
(middleware and decorator) and Django REST Framework. Each answer must be the vector's
bytes; after every case, including the hostile ones, the server still serves."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Optional

import gate_vectors
import httpx
import pytest
from servers import asgi_server, wsgi_server

from authgate.web import Gate


class SwitchGate(Gate):
    """A gate whose configuration each case replaces: the apps are built once around it."""

    def __init__(self) -> None:
        self.current: Optional[Gate] = None

    def __getattr__(self, name: str) -> Any:
        current = self.__dict__.get("current")
        if current is None:
            raise AttributeError(name)
        return getattr(current, name)


def starlette(gate: Gate) -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from authgate.asgi import AuthMiddleware

    async def resource(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    return AuthMiddleware(Starlette(routes=[Route("/resource", resource)]), gate)


def fastapi(gate: Gate) -> Any:
    from fastapi import Depends, FastAPI

    from authgate.asgi import install_error_handlers, require_auth
    from authgate.web import AuthContext

    app = FastAPI()
    install_error_handlers(app)

    @app.get("/resource")
    def resource(auth: AuthContext = Depends(require_auth(gate))) -> dict[str, bool]:
        return {"ok": True}

    return app


def wsgi(gate: Gate) -> Any:
    from authgate.wsgi import AuthMiddleware

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        start_response("200 OK", [("content-type", "application/json")])
        return [b'{"ok":true}']

    return AuthMiddleware(app, gate)


def flask(gate: Gate, per_route: bool) -> Any:
    from flask import Flask

    from authgate.flask import AuthGate, require_auth

    app = Flask("wire")
    if per_route:
        AuthGate(app, protect_all=False)

        @app.get("/resource")
        @require_auth(gate)
        def resource() -> dict[str, bool]:
            return {"ok": True}
    else:
        AuthGate(app, gate)

        @app.get("/resource")
        def resource_all() -> dict[str, bool]:
            return {"ok": True}

    return app


def django(gate: Gate) -> Any:
    import test_django_flask

    test_django_flask._configure_django()
    from django.core.handlers.wsgi import WSGIHandler

    test_django_flask.GATE = gate
    return WSGIHandler()


@contextmanager
def serving(adapter: str, gate: SwitchGate) -> Iterator[str]:
    if adapter in ("starlette", "fastapi"):
        with asgi_server(starlette(gate) if adapter == "starlette" else fastapi(gate)) as base:
            yield base
    elif adapter.startswith("django"):
        prefix = {"django-middleware": "/mw", "django-decorator": "/dec", "drf": "/drf"}[adapter]
        with wsgi_server(django(gate)) as base:
            yield base + prefix
    else:
        app = wsgi(gate) if adapter == "wsgi" else flask(gate, per_route=adapter == "flask-decorator")
        with wsgi_server(app) as base:
            yield base


ADAPTERS = [
    "starlette",
    "fastapi",
    "wsgi",
    "flask-extension",
    "flask-decorator",
    "django-middleware",
    "django-decorator",
    "drf",
]


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_every_wire_vector(adapter: str) -> None:
    gate = SwitchGate()
    gate.current = gate_vectors.build(gate_vectors.GATES["bearer"])[0]
    with serving(adapter, gate) as base, httpx.Client() as client:

        def send(method: str, path: str, headers: list[tuple[str, str]]) -> gate_vectors.Answer:
            raw = [(n.encode("latin-1"), v.encode("latin-1")) for n, v in headers]
            r = client.request(method, base + path, headers=raw)
            got: dict[str, list[str]] = {}
            for name, value in r.headers.raw:
                got.setdefault(name.decode("latin-1").lower(), []).append(value.decode("latin-1"))
            return r.status_code, got, r.content

        def hold(fresh: Gate) -> None:
            gate.current = fresh

        for case in gate_vectors.CASES:
            gate_vectors.run(case, send, hold)
        # Still serving after the hostile cases.
        gate_vectors.run(gate_vectors.CASES[0], send, hold)
