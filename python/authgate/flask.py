"""Flask integration: an extension that protects every route (or a decorator per route) and
an error handler, so every refusal — and any ``AuthError`` raised in a view — is the
gate's JSON response, the same bytes the other runtimes send.

    auth = AuthGate(app, Gate(keys=sessions, api_keys=api_keys), exclude=["/health"])
    # in a view: flask.g.auth -> AuthContext

    @app.get("/admin")
    @require_auth(admin_gate)          # this route only (with AuthGate(app, protect_all=False))
    def admin(): ...
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any, Optional, TypeVar

from authgate._authgate import GateRoute
from authgate.errors import AuthError
from authgate.web import AuthContext, Gate, refusal_for

F = TypeVar("F", bound=Callable[..., Any])


def _response(gate: Optional[Gate], error: AuthError, realm: Optional[str] = None) -> Any:
    from flask import Response

    status, headers, body = gate.error_response(error) if gate is not None else refusal_for(error, realm)
    response = Response(body, status=status)
    for name, value in headers:
        response.headers[name] = value
    return response


def request_target_url() -> str:
    """The URL to give ``RequestVerifier.verify`` for the current Flask request: its scheme
    and host (so ``ProxyFix`` applies, ``x_prefix`` included) and the raw request target the
    client sent, query included (see :func:`authgate.wsgi.raw_target`). Not ``request.url``:
    Werkzeug rebuilds it from the decoded path, so ``%2F`` and non-ASCII paths no longer
    match. Raises ``InvalidInput`` when ``Host`` is not a host."""
    from flask import request

    from authgate._authgate import request_url
    from authgate.wsgi import raw_target

    return request_url(request.scheme, request.host, raw_target(request.environ))


def _gate_url() -> str:
    from flask import request

    from authgate.wsgi import gate_url

    return gate_url(request.environ)


def _authenticate(gate: Gate, route: Optional[GateRoute] = None) -> AuthContext:
    from flask import g, request

    held = g.get("auth")
    context: AuthContext
    if g.get("authgate_gate") is gate and isinstance(held, AuthContext):
        # The extension already ran this gate: only the route's own rule.
        context = gate.authorize_route(held, route) if route is not None else held
    else:
        context = gate.authenticate(
            request.headers.get, request.remote_addr, method=request.method, url=_gate_url(), route=route
        )
    g.auth, g.authgate_gate = context, gate
    g.authgate_headers = gate.response_headers(context)
    return context


class AuthGate:
    """The Flask extension: ``AuthGate(app, gate)`` or ``AuthGate(gate=gate).init_app(app)``.
    With ``protect_all`` (the default) every request except the ``exclude`` paths must pass
    ``gate``; either way an ``AuthError`` raised in a view answers with the gate's refusal."""

    def __init__(
        self,
        app: Any = None,
        gate: Optional[Gate] = None,
        *,
        exclude: Iterable[str] = (),
        protect_all: bool = True,
        realm: Optional[str] = None,
    ) -> None:
        self.gate = gate
        self.exclude = frozenset(exclude)
        self.protect_all = protect_all and gate is not None
        self.realm = realm if realm is not None else (gate.realm if gate is not None else None)
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Any) -> None:
        if self.protect_all:
            app.before_request(self._before)
        app.after_request(self._after)
        app.register_error_handler(AuthError, self._on_error)

    def _before(self) -> Any:
        from flask import request

        if request.path in self.exclude or self.gate is None:
            return None
        try:
            _authenticate(self.gate)
        except AuthError as error:
            return _response(self.gate, error)
        return None

    @staticmethod
    def _after(response: Any) -> Any:
        from flask import g

        for name, value in g.get("authgate_headers", []):
            response.headers[name] = value
        return response

    def _on_error(self, error: AuthError) -> Any:
        return _response(None, error, self.realm)


def require_auth(
    gate: Gate,
    *,
    scopes: Optional[list[str]] = None,
    limit: Optional[str] = None,
    cost: int = 1,
    name: Optional[str] = None,
) -> Callable[[F], F]:
    """A view decorator: the view runs only for requests ``gate`` admits (``flask.g.auth``);
    others get the gate's refusal. ``scopes`` and ``limit`` (a policy name or text such as
    ``"5/minute"``) apply to this view only; its buckets are named by ``name``, by default
    the view's module and name."""

    def decorate(view: F) -> F:
        route = None
        if scopes or limit is not None:
            label = name or f"{view.__module__}.{view.__qualname__}"
            route = gate.route(label, scopes=scopes, limit=limit, cost=cost)

        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            from flask import g, make_response

            try:
                _authenticate(gate, route)
            except AuthError as error:
                return _response(gate, error)
            response = make_response(view(*args, **kwargs))
            for name, value in g.pop("authgate_headers", []):
                response.headers[name] = value
            return response

        return wrapper  # type: ignore[return-value]

    return decorate
