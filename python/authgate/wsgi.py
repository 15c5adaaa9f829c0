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


# What stays as it is when a decoded path is percent-encoded again (RFC 3986 pchar and `/`).
_PATH_SAFE = "/:@!$&'()*+,;=-._~"


def raw_target(environ: Environ) -> str:
    """The request target as the client sent it: ``/path?query``, percent-encoding kept.

    It comes from ``RAW_URI`` (gunicorn, Werkzeug) or ``REQUEST_URI`` (uWSGI, Werkzeug).
    A server that sets neither (``wsgiref``) only gives the decoded ``PATH_INFO``: it is
    percent-encoded again, which restores non-ASCII and reserved characters but cannot
    tell an encoded slash (``%2F``) from ``/``."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if isinstance(raw, str) and raw:
        if "://" in raw.split("?", 1)[0]:  # absolute-form (a request through a proxy)
            after = raw.split("://", 1)[1]
            slash = after.find("/")
            raw = after[slash:] if slash >= 0 else "/"
        if raw.startswith("/"):
            return raw
    from urllib.parse import quote

    path = f"{environ.get('SCRIPT_NAME', '')}{environ.get('PATH_INFO', '')}" or "/"
    target = quote(path.encode("latin-1", "replace"), safe=_PATH_SAFE)
    query = environ.get("QUERY_STRING", "")
    return f"{target}?{query}" if query else target


def request_origin(environ: Environ) -> str:
    """``scheme://host`` of the request, from ``wsgi.url_scheme`` and ``Host``."""
    scheme = environ.get("wsgi.url_scheme", "http")
    host = environ.get("HTTP_HOST") or f"{environ.get('SERVER_NAME', 'localhost')}:{environ.get('SERVER_PORT', '80')}"
    return f"{scheme}://{host}"


def request_target_url(environ: Environ, *, origin: Optional[str] = None) -> str:
    """The URL to give ``RequestVerifier.verify``: the origin (``scheme://host``, or
    ``origin`` — your public origin behind a proxy that rewrites ``Host``) and the raw
    request target, query included (see :func:`raw_target`). Not Flask's ``request.url``
    nor Django's ``build_absolute_uri()``: they decode the path (``%2F`` becomes ``/``) and
    encode it again their own way, so a signature over the URL the client sent fails."""
    return f"{(origin or request_origin(environ)).rstrip('/')}{raw_target(environ)}"


def request_url(environ: Environ) -> str:
    """The request's absolute URL without its query (what a DPoP proof's ``htu`` names)."""
    return request_target_url(environ).split("?", 1)[0]


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
