"""Django and Django REST Framework integration. Every refusal — and any ``AuthError``
raised in a view — is the gate's JSON response, the same bytes the other runtimes send.

Django (settings.py)::

    MIDDLEWARE = [..., "authgate.django.AuthgateMiddleware"]
    AUTHGATE = {"GATE": "myproject.security:gate", "EXCLUDE": ["/health"]}
    # in a view: request.auth -> AuthContext

    @require_auth(admin_gate)         # one view only
    def admin(request): ...

Django REST Framework::

    REST_FRAMEWORK = {
        "DEFAULT_AUTHENTICATION_CLASSES": ["authgate.django.AuthgateAuthentication"],
        "DEFAULT_PERMISSION_CLASSES": ["authgate.django.IsAuthenticatedByGate"],
        "EXCEPTION_HANDLER": "authgate.django.exception_handler",
    }
    AUTHGATE = {"GATE": "myproject.security:gate"}
    # in a view: request.auth -> AuthContext, request.user -> GateUser
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from typing import Any, Optional, TypeVar

from authgate._authgate import GateRoute
from authgate.errors import AuthError
from authgate.web import AuthContext, Gate, refusal_for

F = TypeVar("F", bound=Callable[..., Any])


def _setting(name: str, default: Any = None) -> Any:
    from django.conf import settings

    return getattr(settings, "AUTHGATE", {}).get(name, default)


def configured_gate() -> Gate:
    """The gate named by ``settings.AUTHGATE["GATE"]``: a ``Gate``, or ``"module:attribute"``."""
    gate = _setting("GATE")
    if isinstance(gate, str):
        module, _, attribute = gate.partition(":")
        gate = getattr(importlib.import_module(module), attribute)
    if not isinstance(gate, Gate):
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured('settings.AUTHGATE["GATE"] must be an authgate.web.Gate or "module:attribute"')
    return gate


def _peer(request: Any) -> Optional[str]:
    peer = request.META.get("REMOTE_ADDR")
    return peer if isinstance(peer, str) and peer else None


def refusal_response(error: AuthError, gate: Optional[Gate] = None) -> Any:
    """The ``HttpResponse`` for ``error``: the core's status, headers and JSON body."""
    from django.http import HttpResponse

    if gate is None and _setting("GATE") is not None:
        gate = configured_gate()
    if gate is not None:
        status, headers, body = gate.error_response(error)
    else:
        status, headers, body = refusal_for(error, _setting("REALM"))
    response = HttpResponse(body, status=status)
    for name, value in headers:
        response[name] = value
    return response


def _raw_target(request: Any) -> str:
    # Django's own mount point (what reverse() puts in front of URLs): FORCE_SCRIPT_NAME,
    # else SCRIPT_NAME under WSGI or the scope's root_path under ASGI.
    scope = getattr(request, "scope", None)
    if isinstance(scope, dict):
        from django.conf import settings

        from authgate.asgi import raw_target as asgi_target

        # What Django 5's ASGIRequest.script_name holds (Django 4.2's ignores FORCE_SCRIPT_NAME).
        root = settings.FORCE_SCRIPT_NAME or scope.get("root_path", "") or ""
        return asgi_target({**scope, "root_path": root})
    script = (
        request.path[: len(request.path) - len(request.path_info)] if request.path.endswith(request.path_info) else ""
    )
    from authgate.wsgi import raw_target as wsgi_target

    # request.path is real text; WSGI strings are bytes as Latin-1 text (PEP 3333).
    return wsgi_target({**request.META, "SCRIPT_NAME": script.encode("utf-8").decode("latin-1")})


def request_target_url(request: Any) -> str:
    """The URL to give ``RequestVerifier.verify`` for a Django request: the scheme and host
    Django computes (``get_host()``, so ``ALLOWED_HOSTS``, ``USE_X_FORWARDED_HOST`` and
    ``SECURE_PROXY_SSL_HEADER`` apply) and the raw request target the client sent, query
    included and under ``FORCE_SCRIPT_NAME``/``SCRIPT_NAME`` — from the ASGI scope, or
    ``RAW_URI``/``REQUEST_URI`` under WSGI (see :func:`authgate.wsgi.raw_target`). Not
    ``request.build_absolute_uri()``: it is rebuilt from the decoded path, so ``%2F`` and
    non-ASCII paths no longer match."""
    from authgate._authgate import request_url

    return request_url(request.scheme, request.get_host(), _raw_target(request))


def _gate_url(request: Any) -> str:
    """What the gate checks a DPoP proof against (the core's ``gate_url``): Django's scheme and
    host (``get_host()``; a host ``ALLOWED_HOSTS`` refuses gives the bare path) and the raw
    target without its query. Never raises."""
    from authgate._authgate import gate_url

    try:
        host: Optional[str] = request.get_host()
    except Exception:  # DisallowedHost, or no Host at all
        host = None
    return gate_url(request.scheme, host, _raw_target(request))


def _authenticate(gate: Gate, request: Any, route: Optional[GateRoute] = None) -> AuthContext:
    held = getattr(request, "auth", None)
    context: AuthContext
    if getattr(request, "authgate_gate", None) is gate and isinstance(held, AuthContext):
        # The middleware already ran this gate: only the route's own rule.
        context = gate.authorize_route(held, route) if route is not None else held
    else:
        url = _gate_url(request)
        context = gate.authenticate(request.headers.get, _peer(request), method=request.method, url=url, route=route)
    request.authgate_gate = gate
    request.auth = context
    request.authgate_headers = gate.response_headers(context)
    return context


def _with_headers(request: Any, response: Any) -> Any:
    for name, value in getattr(request, "authgate_headers", []):
        response[name] = value
    return response


class AuthgateMiddleware:
    """Every request except ``AUTHGATE["EXCLUDE"]`` paths must pass the configured gate
    (``request.auth``); an ``AuthError`` raised in a view answers with the gate's refusal."""

    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response
        self.gate = configured_gate()
        self.exclude = frozenset(_setting("EXCLUDE", ()))

    def __call__(self, request: Any) -> Any:
        if request.path not in self.exclude:
            try:
                _authenticate(self.gate, request)
            except AuthError as error:
                return refusal_response(error, self.gate)
        return _with_headers(request, self.get_response(request))

    def process_exception(self, request: Any, exception: Exception) -> Any:
        if isinstance(exception, AuthError):
            return refusal_response(exception, self.gate)
        return None


def require_auth(
    gate: Gate,
    *,
    scopes: Optional[list[str]] = None,
    limit: Optional[str] = None,
    cost: int = 1,
    name: Optional[str] = None,
) -> Callable[[F], F]:
    """A view decorator: the view runs only for requests ``gate`` admits (``request.auth``).
    ``scopes`` and ``limit`` (a policy name or text such as ``"5/minute"``) apply to this
    view only; its buckets are named by ``name``, by default the view's module and name."""

    def decorate(view: F) -> F:
        route = None
        if scopes or limit is not None:
            label = name or f"{view.__module__}.{view.__qualname__}"
            route = gate.route(label, scopes=scopes, limit=limit, cost=cost)

        @functools.wraps(view)
        def wrapper(request: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                _authenticate(gate, request, route)
            except AuthError as error:
                return refusal_response(error, gate)
            return _with_headers(request, view(request, *args, **kwargs))

        return wrapper  # type: ignore[return-value]

    return decorate


class GateUser:
    """``request.user`` under DRF: who the gate admitted (the token's ``sub``, or the API key's app)."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, context: AuthContext) -> None:
        self.context = context
        sub = (context.claims or {}).get("sub")
        self.id = str(sub) if sub is not None else (context.api_key.id if context.api_key is not None else None)
        self.pk = self.id

    def __str__(self) -> str:
        return self.id or "authgate"


try:
    from rest_framework.authentication import BaseAuthentication
    from rest_framework.permissions import BasePermission
except ImportError:  # Django without DRF: the classes below are not available
    BaseAuthentication = object
    BasePermission = object


class AuthgateAuthentication(BaseAuthentication):  # type: ignore[misc]
    """DRF authentication by the configured gate (or a subclass's ``gate``). A refusal is
    raised as the gate's ``AuthError``; with ``exception_handler`` it answers with the
    gate's bytes."""

    gate: Optional[Gate] = None

    def authenticate(self, request: Any) -> tuple[GateUser, AuthContext]:
        gate = self.gate or configured_gate()
        context = _authenticate(gate, request._request if hasattr(request, "_request") else request)
        return GateUser(context), context

    def authenticate_header(self, request: Any) -> str:
        realm = (self.gate or configured_gate()).realm
        return f'Bearer realm="{realm}"' if realm else "Bearer"


class IsAuthenticatedByGate(BasePermission):  # type: ignore[misc]
    """Lets through only requests the gate admitted."""

    def has_permission(self, request: Any, view: Any) -> bool:
        return isinstance(getattr(request, "auth", None), AuthContext)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Any:
    """DRF's ``EXCEPTION_HANDLER``: an ``AuthError`` (from the gate or a view) answers with
    the gate's refusal, with the RateLimit headers of an admitted request; anything else
    goes to DRF's own handler."""
    if isinstance(exc, AuthError):
        return refusal_response(exc)
    from rest_framework.views import exception_handler as drf_handler

    return drf_handler(exc, context)
