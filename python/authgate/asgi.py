"""ASGI integration (Starlette, FastAPI and any ASGI app): a middleware, a dependency for
FastAPI/Starlette routes, and the error handlers that make every refusal the same JSON.

    app.add_middleware(AuthMiddleware, gate=Gate(keys=sessions, api_keys=api_keys))
    # in a route: request.state.auth -> AuthContext

    install_error_handlers(app)          # any AuthError raised in a route answers like the gate
    @app.get("/me")
    def me(auth: AuthContext = Depends(require_auth(gate))) -> dict: ...
"""

import asyncio
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any, Optional
from urllib.parse import quote

from authgate._authgate import gate_url as _gate_url
from authgate._authgate import request_url
from authgate.errors import AuthError
from authgate.web import AuthContext, Gate, GateRefusal, refusal_for
from authgate.wsgi import origin_form, with_prefix

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class AuthMiddleware:
    """Refuses HTTP requests without valid credentials with a JSON error; on success puts
    the ``AuthContext`` in ``scope["state"]["auth"]`` (``request.state.auth``)."""

    def __init__(self, app: ASGIApp, gate: Gate, exclude_paths: Iterable[str] = ()) -> None:
        self.app = app
        self.gate = gate
        self.exclude_paths = frozenset(exclude_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.exclude_paths:
            await self.app(scope, receive, send)
            return
        headers = _headers(scope, self.gate)
        client = scope.get("client")
        peer = client[0] if client else None
        method, url = scope.get("method", "GET"), _url(scope)
        if self.gate.offload:
            # A Redis round trip: wait on a worker thread, not on the event loop.
            loop = asyncio.get_running_loop()
            context = await loop.run_in_executor(
                None, lambda: self.gate.check(headers.get, peer, method=method, url=url)
            )
        else:
            context = self.gate.check(headers.get, peer, method=method, url=url)
        if isinstance(context, GateRefusal):
            status, response_headers, body = context.response
            await send(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response_headers],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        state = scope.setdefault("state", {})
        state["auth"], state["authgate_gate"] = context, self.gate
        extra = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in self.gate.response_headers(context)]
        if not extra:
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _headers(scope: Scope, gate: Gate) -> dict[str, str]:
    """The headers the gate reads, as Latin-1 text (HTTP's bytes, one for one)."""
    wanted = gate.header_names
    out: dict[str, str] = {}
    for k, v in scope["headers"]:
        name = k.decode("latin-1").lower()
        if name in wanted:
            # Every line: the core joins repeated lines (two Authorization lines are one
            # malformed credential, as a WSGI server's joined value is).
            out[name] = out[name] + ", " + v.decode("latin-1") if name in out else v.decode("latin-1")
    return out


def _host_header(scope: Scope) -> Optional[str]:
    return next((v.decode("latin-1") for k, v in scope["headers"] if k.lower() == b"host"), None)


def _host(scope: Scope) -> str:
    host = _host_header(scope)
    server = scope.get("server")
    if host is None and server and server[0]:
        name, port = server[0], server[1] if len(server) > 1 else None
        if ":" in name:
            name = f"[{name}]"  # an IPv6 address is written in brackets
        # A Unix socket (port None) has no port; its path is not a host, so the URL is refused.
        host = name if port is None else f"{name}:{port}"
    return host or "localhost"


def request_origin(scope: Scope) -> str:
    """``scheme://host`` of the request, from the scope's scheme and ``Host``. Raises
    ``InvalidInput`` when ``Host`` is not a host (``h/admin?``, ``user@h``, spaces)."""
    return request_url(scope.get("scheme", "http"), _host(scope), "/")[:-1]


def raw_target(scope: Scope) -> str:
    """The request target as the client sent it: ``/path?query`` from the scope's
    ``raw_path`` and ``query_string`` (percent-encoding kept), under the app's mount point
    (``root_path``) when a proxy stripped it. A server without ``raw_path`` gives the
    decoded ``path``, encoded again (``%2F`` is then lost)."""
    raw = scope.get("raw_path")
    root = scope.get("root_path", "") or ""
    decoded = scope.get("path", "/")
    # Servers differ on whether `path` includes `root_path` (the ASGI spec now says it does):
    # the whole decoded path is root_path + path when path does not start with it.
    bare = root.rstrip("/")
    whole = decoded if not bare or decoded == bare or decoded.startswith(bare + "/") else bare + decoded
    if raw:
        # absolute-form (`GET https://host/path`): its path, never its authority
        text = origin_form(raw.decode("latin-1"))
        if not text.startswith("/"):
            return text  # `*` or what is no target: the core gives it no URL
        path = with_prefix(text.split("?", 1)[0], root, whole, encoding="utf-8")
    else:
        path = quote(whole.encode("utf-8", "replace"), safe="/:@!$&'()*+,;=-._~") or "/"
    query = scope.get("query_string", b"").decode("latin-1")
    return f"{path}?{query}" if query else path


def request_target_url(scope: Scope, *, origin: Optional[str] = None) -> str:
    """The URL to give ``RequestVerifier.verify``: the origin (``scheme://host``, or
    ``origin`` — your public origin behind a proxy that rewrites ``Host``) and the raw
    request target, query included. Not Starlette's ``str(request.url)``: it is rebuilt
    from the decoded path. Raises ``InvalidInput`` when ``Host`` is not a host."""
    if origin:
        return f"{origin.rstrip('/')}{raw_target(scope)}"
    return request_url(scope.get("scheme", "http"), _host(scope), raw_target(scope))


def _url(scope: Scope) -> str:
    """The URL a gate checks a DPoP proof against (the core's ``gate_url``): the absolute URL
    without its query, or the bare path when the request has no ``Host`` or one that is not
    a host (a DPoP proof then fails to match). Never raises."""
    return _gate_url(str(scope.get("scheme", "http")), _host_header(scope), raw_target(scope))


def require_auth(
    gate: Gate,
    *,
    scopes: Optional[list[str]] = None,
    limit: Optional[str] = None,
    cost: int = 1,
    name: Optional[str] = None,
) -> Callable[..., AuthContext]:
    """A FastAPI/Starlette dependency: returns the ``AuthContext`` or raises an
    ``HTTPException`` whose detail is ``{"error": code, "message": ...}`` (with
    ``install_error_handlers``, the gate's own bytes). ``scopes`` and ``limit`` (a policy
    name or text such as ``"5/minute"``) apply to this route only; its buckets are named by
    ``name``, by default the route's method and path."""
    from starlette.requests import Request
    from starlette.responses import Response

    try:
        from fastapi import HTTPException  # its detail may be a dict
    except ImportError:  # plain Starlette: the detail becomes the dict's text
        from starlette.exceptions import HTTPException  # type: ignore[assignment]

    per_route = bool(scopes) or limit is not None
    if per_route and name is not None:
        gate.route_for(name, scopes=scopes, limit=limit, cost=cost)  # checked now

    def dependency(request: Request, response: Response) -> AuthContext:
        try:
            route = None
            if per_route:
                # The route's path pattern (bounded, chosen by the developer), never the URL.
                matched = request.scope.get("route")
                label = name or f"{request.method} {getattr(matched, 'path', 'app')}"
                route = gate.route_for(label, scopes=scopes, limit=limit, cost=cost)
            state = request.scope.get("state", {})
            held = state.get("auth")
            context: AuthContext
            if state.get("authgate_gate") is gate and isinstance(held, AuthContext):
                # The middleware already ran this gate: only the route's own rule.
                context = gate.authorize_route(held, route) if route is not None else held
            else:
                wanted = _headers(request.scope, gate)
                context = gate.authenticate(
                    wanted.get,
                    request.client.host if request.client else None,
                    method=request.method,
                    url=_url(request.scope),
                    route=route,
                )
            for header, value in gate.response_headers(context):
                response.headers[header] = value
            return context
        except AuthError as error:
            status, headers, body = gate.error_response(error)
            refusal = HTTPException(
                status_code=status,
                detail={"error": error.code, "message": str(error)},
                headers={k: v for k, v in headers if k != "content-type"},
            )
            # With install_error_handlers, the handler answers with the gate's own bytes.
            refusal.authgate_response = (status, headers, body)  # type: ignore[attr-defined]
            raise refusal from None

    return dependency


def install_error_handlers(app: Any, realm: Optional[str] = None) -> None:
    """One call on a FastAPI or Starlette app: an ``AuthError`` raised anywhere in a route
    (``totp.verify``, ``limiter.enforce``, ``keys.verify`` …) and a ``require_auth``
    refusal both answer with the response the middleware sends — status, headers and the
    JSON body ``{"error": "<code>", "message": …}`` built by the core — instead of a 500 or
    FastAPI's ``{"detail": …}``. Other ``HTTPException``s keep the framework's handling."""
    from starlette.exceptions import HTTPException as StarletteHTTPException
    from starlette.requests import Request
    from starlette.responses import Response

    def refusal(status: int, headers: list[tuple[str, str]], body: bytes) -> Response:
        response = Response(content=body, status_code=status)
        for name, value in headers:
            response.headers[name] = value
        return response

    async def on_auth_error(_request: Request, error: Exception) -> Response:
        return refusal(*refusal_for(error, realm))

    default_http: Any = None
    try:
        from fastapi.exception_handlers import http_exception_handler

        default_http = http_exception_handler
    except ImportError:  # plain Starlette
        pass

    async def on_http_exception(request: Request, error: Exception) -> Response:
        built = getattr(error, "authgate_response", None)
        if built is not None:
            return refusal(*built)
        if default_http is not None:
            return await default_http(request, error)  # type: ignore[no-any-return]
        assert isinstance(error, StarletteHTTPException)
        return Response(content=str(error.detail), status_code=error.status_code, headers=error.headers)

    app.add_exception_handler(AuthError, on_auth_error)
    app.add_exception_handler(StarletteHTTPException, on_http_exception)
