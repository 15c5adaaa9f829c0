"""WSGI integration (Flask, Django, any WSGI app): a middleware that refuses requests
without valid credentials and puts the ``AuthContext`` in ``environ["authgate.auth"]``.

    app.wsgi_app = AuthMiddleware(app.wsgi_app, Gate(api_keys=manager))
"""

from __future__ import annotations

from collections.abc import Iterable
from http import HTTPStatus
from typing import Any, Callable, Optional

from authgate.errors import AuthError
from authgate.web import Gate

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]


def request_url(environ: Environ) -> str:
    """The request's absolute URL without its query (PEP 3333's reconstruction)."""
    scheme = environ.get("wsgi.url_scheme", "http")
    host = environ.get("HTTP_HOST") or f"{environ.get('SERVER_NAME', 'localhost')}:{environ.get('SERVER_PORT', '80')}"
    return f"{scheme}://{host}{environ.get('SCRIPT_NAME', '')}{environ.get('PATH_INFO', '/')}"


class AuthMiddleware:
    def __init__(self, app: WSGIApp, gate: Gate, exclude_paths: Iterable[str] = ()) -> None:
        self.app = app
        self.gate = gate
        self.exclude_paths = frozenset(exclude_paths)

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "") in self.exclude_paths:
            return self.app(environ, start_response)

        def header(name: str) -> Optional[str]:
            value = environ.get("HTTP_" + name.upper().replace("-", "_"))
            return value if isinstance(value, str) else None

        try:
            context = self.gate.authenticate(header, environ.get("REMOTE_ADDR"),
                                             method=environ.get("REQUEST_METHOD", "GET"), url=request_url(environ))
        except AuthError as error:
            status, headers, body = self.gate.error_response(error)
            start_response(f"{status} {HTTPStatus(status).phrase}", headers + [("content-length", str(len(body)))])
            return [body]
        environ["authgate.auth"] = context
        extra = self.gate.response_headers(context)
        if not extra:
            return self.app(environ, start_response)

        def start_with_headers(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            return start_response(status, headers + extra, exc_info)

        return self.app(environ, start_with_headers)
