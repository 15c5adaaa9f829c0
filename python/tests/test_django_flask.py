"""Flask (extension, per-route decorator) and Django (middleware, view decorator, DRF
authentication + permission + exception handler) on real WSGI servers called with httpx:
the same refusals as the ASGI middleware, byte for byte, and AuthErrors raised in a view
answered as the gate answers."""

from __future__ import annotations

import json
from typing import Any, Optional

import httpx
import pytest
from servers import asgi_server, wsgi_server
from test_frameworks import World, check_refusals, starlette_app, top_level_error

import authgate
from authgate.web import Gate

SECRET = b"12345678901234567890"
TOTP = authgate.TotpManager(authgate.MemoryStore())


def raise_invalid_code() -> None:
    TOTP.verify("alice", SECRET, "000000x")  # raises InvalidCode


def same_as_the_asgi_middleware(base: str, world: World) -> None:
    """Refusals are the ASGI middleware's bytes: status, challenge and body."""
    with asgi_server(starlette_app(world)) as asgi:
        for headers in ({}, world.headers(token=False), {**world.headers(), "authorization": "Basic x"}):
            a = httpx.get(f"{base}/me", headers=headers)
            b = httpx.get(f"{asgi}/me", headers=headers)
            assert (a.status_code, a.content) == (b.status_code, b.content), ("django/flask", a.text, "asgi", b.text)
            assert a.headers.get("www-authenticate") == b.headers.get("www-authenticate")


def check_view_errors(url: str) -> None:
    r = httpx.get(url)
    assert r.status_code == 401
    assert (
        r.content
        == json.dumps({"error": "invalid_code", "message": r.json()["message"]}, separators=(",", ":")).encode()
    )
    assert "www-authenticate" not in r.headers


# ---- Flask ----


def flask_app(world: World, per_route: bool) -> Any:
    from flask import Flask, g

    from authgate.flask import AuthGate, require_auth

    app = Flask(__name__)
    if per_route:
        AuthGate(app, realm="api", protect_all=False)

        @app.get("/me")
        @require_auth(world.gate)
        def me() -> dict[str, Any]:
            return {"sub": g.auth.claims["sub"]}
    else:
        AuthGate(app, world.gate, exclude=["/health", "/code"])

        @app.get("/me")
        def me() -> dict[str, Any]:
            return {"sub": g.auth.claims["sub"]}

    @app.get("/health")
    def health() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/code")
    def code() -> dict[str, Any]:
        raise_invalid_code()
        return {}

    return app


@pytest.mark.parametrize("per_route", [False, True], ids=["extension", "decorator"])
def test_flask(per_route: bool) -> None:
    world = World()
    with wsgi_server(flask_app(world, per_route)) as base:
        check_refusals(base, world, top_level_error)
        same_as_the_asgi_middleware(base, world)
        check_view_errors(f"{base}/code")
        assert httpx.get(f"{base}/health").json() == {"ok": True}


# ---- Django and DRF: one settings module for the process, a new handler per test ----

GATE: Optional[Gate] = None
# The signed-request view test_signature_urls installs (Django is configured once per run).
SIGNED: Optional[Any] = None


def _configure_django() -> None:
    import django
    from django.conf import settings

    if settings.configured:
        return
    settings.configure(
        DEBUG=False,
        ALLOWED_HOSTS=["*"],
        ROOT_URLCONF=__name__,
        SECRET_KEY="test only",
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "rest_framework"],
        MIDDLEWARE=["authgate.django.AuthgateMiddleware"],
        DATABASES={},
        AUTHGATE={
            "GATE": f"{__name__}:GATE",
            "EXCLUDE": [
                "/mw/health",
                "/mw/code",
                "/dec/me",
                "/drf/me",
                "/drf/code",
                "/dec/resource",
                "/drf/resource",
                # test_signature_urls' paths, decoded as Django sees them
                "/sig/files/a/b/café",
                "/sig/files/café",
                "/api/sig/files/a/b/café",
            ],
        },
        REST_FRAMEWORK={
            "DEFAULT_AUTHENTICATION_CLASSES": ["authgate.django.AuthgateAuthentication"],
            "DEFAULT_PERMISSION_CLASSES": ["authgate.django.IsAuthenticatedByGate"],
            "EXCEPTION_HANDLER": "authgate.django.exception_handler",
            "UNAUTHENTICATED_USER": None,
        },
    )
    django.setup()


def _urls() -> list[Any]:
    from django.http import HttpRequest, JsonResponse
    from django.urls import path
    from rest_framework.response import Response
    from rest_framework.views import APIView

    from authgate.django import require_auth

    def me(request: HttpRequest) -> JsonResponse:
        return JsonResponse({"sub": request.auth.claims["sub"]})  # type: ignore[attr-defined]

    def health(request: HttpRequest) -> JsonResponse:
        return JsonResponse({"ok": True})

    def code(request: HttpRequest) -> JsonResponse:
        raise_invalid_code()
        return JsonResponse({})

    def decorated(request: HttpRequest) -> JsonResponse:
        assert GATE is not None
        return require_auth(GATE)(me)(request)  # type: ignore[no-any-return]

    class Me(APIView):
        def get(self, request: Any) -> Response:
            return Response({"sub": request.auth.claims["sub"], "user": str(request.user)})

    class Code(APIView):
        def get(self, request: Any) -> Response:
            raise_invalid_code()
            return Response({})

    def ok(request: HttpRequest) -> JsonResponse:
        return JsonResponse({"ok": True})

    def decorated_ok(request: HttpRequest) -> JsonResponse:
        assert GATE is not None
        return require_auth(GATE)(ok)(request)  # type: ignore[no-any-return]

    class Resource(APIView):
        def get(self, request: Any) -> Response:
            return Response({"ok": True})

    class OpenCode(Code):
        permission_classes: list[Any] = []
        authentication_classes: list[Any] = []

    def signed(request: HttpRequest) -> Any:
        assert SIGNED is not None
        return SIGNED(request)

    from django.urls import re_path

    return [
        re_path(r"^sig/", signed),
        path("mw/me", me),
        path("mw/health", health),
        path("mw/code", code),
        path("dec/me", decorated),
        path("drf/me", Me.as_view()),
        path("drf/code", OpenCode.as_view()),
        path("mw/resource", ok),
        path("dec/resource", decorated_ok),
        path("drf/resource", Resource.as_view()),
    ]


def __getattr__(name: str) -> Any:
    # Django reads urlpatterns from ROOT_URLCONF (this module) once it is configured.
    if name == "urlpatterns":
        return _urls()
    raise AttributeError(name)


def django_app(world: World) -> Any:
    global GATE
    _configure_django()
    from django.core.handlers.wsgi import WSGIHandler

    GATE = world.gate
    return WSGIHandler()


@pytest.mark.parametrize("prefix", ["/mw", "/dec", "/drf"], ids=["middleware", "decorator", "drf"])
def test_django(prefix: str) -> None:
    world = World()
    with wsgi_server(django_app(world)) as server:
        base = f"{server}{prefix}"
        if prefix == "/drf":
            r = httpx.get(f"{base}/me", headers=world.headers())
            assert r.json() == {"sub": "alice", "user": "alice"}
        check_refusals(base, world, top_level_error)
        same_as_the_asgi_middleware(base, world)
        check_view_errors(f"{server}{'/mw' if prefix != '/drf' else '/drf'}/code")
