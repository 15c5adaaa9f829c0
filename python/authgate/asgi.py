"""ASGI integration (Starlette, FastAPI and any ASGI app): a middleware, and a dependency
for FastAPI/Starlette routes.

    app.add_middleware(AuthMiddleware, gate=Gate(keys=sessions, api_keys=api_keys))
    # in a route: request.state.auth -> AuthContext

    @app.get("/me")
    def me(auth: AuthContext = Depends(require_auth(gate))) -> dict: ...
"""


from collections.abc import Awaitable, Iterable, MutableMapping
from typing import Any, Callable

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
        try:
            context = self.gate.authenticate(headers.get)
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
        await self.app(scope, receive, send)


def require_auth(gate: Gate) -> Callable[[Any], AuthContext]:
    """A FastAPI/Starlette dependency: returns the ``AuthContext`` or raises an
    ``HTTPException`` whose detail is ``{"error": code, "message": ...}``."""
    from starlette.requests import Request

    try:
        from fastapi import HTTPException  # its detail may be a dict
    except ImportError:  # plain Starlette: the detail becomes the dict's text
        from starlette.exceptions import HTTPException  # type: ignore[assignment]

    def dependency(request: Request) -> AuthContext:
        try:
            return gate.authenticate(request.headers.get)
        except AuthError as error:
            status, headers, _ = gate.error_response(error)
            raise HTTPException(
                status_code=status,
                detail={"error": error.code, "message": str(error)},
                headers={k: v for k, v in headers if k != "content-type"},
            ) from None

    return dependency
