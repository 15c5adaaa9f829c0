"""ASGI integration (Starlette, FastAPI and any ASGI app): a middleware, a dependency for
FastAPI/Starlette routes, and the error handlers that make every refusal the same JSON.

    app.add_middleware(AuthMiddleware, gate=Gate(keys=sessions, api_keys=api_keys))
    # in a route: request.state.auth -> AuthContext

    install_error_handlers(app)          # any AuthError raised in a route answers like the gate
    @app.get("/me")
    def me(auth: AuthContext = Depends(require_auth(gate))) -> dict: ...
"""

import asyncio
from collections.abc import Awaitable, Iterable, MutableMapping
from typing import Any, Callable

from authgate._authgate import http_refusal
from authgate.errors import AuthError
from authgate.web import AuthContext, Gate

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
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        client = scope.get("client")
        peer = client[0] if client else None
        try:
            if self.gate.offload:
                # A Redis round trip: wait on a worker thread, not on the event loop.
                loop = asyncio.get_running_loop()
                context = await loop.run_in_executor(None, self.gate.authenticate, headers.get, peer)
            else:
                context = self.gate.authenticate(headers.get, peer)
        except AuthError as error:
            status, response_headers, body = self.gate.error_response(error)
            await send({
                "type": "http.response.start",
                "status": status,
                "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response_headers],
            })
            await send({"type": "http.response.body", "body": body})
            return
        scope.setdefault("state", {})["auth"] = context
        extra = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in self.gate.response_headers(context)]
        if not extra:
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def require_auth(gate: Gate) -> Callable[..., AuthContext]:
    """A FastAPI/Starlette dependency: returns the ``AuthContext`` or raises an
    ``HTTPException`` whose detail is ``{"error": code, "message": ...}``."""
    from starlette.requests import Request
    from starlette.responses import Response

    try:
        from fastapi import HTTPException  # its detail may be a dict
    except ImportError:  # plain Starlette: the detail becomes the dict's text
        from starlette.exceptions import HTTPException  # type: ignore[assignment]

    def dependency(request: Request, response: Response) -> AuthContext:
        try:
            context = gate.authenticate(request.headers.get, request.client.host if request.client else None)
            for name, value in gate.response_headers(context):
                response.headers[name] = value
            return context
        except AuthError as error:
            status, headers, _ = gate.error_response(error)
            refusal = HTTPException(
                status_code=status,
                detail={"error": error.code, "message": str(error)},
                headers={k: v for k, v in headers if k != "content-type"},
            )
            # With install_error_handlers, the handler answers with the gate's own bytes.
            refusal.authgate_response = (status, headers, gate.error_response(error)[2])  # type: ignore[attr-defined]
            raise refusal from None

    return dependency


def install_error_handlers(app: Any, realm: str | None = None) -> None:
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
        assert isinstance(error, AuthError)
        rate = getattr(error, "rate_limit", None)
        return refusal(*http_refusal(error.code, str(error), error.retry_after, realm, rate))

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
