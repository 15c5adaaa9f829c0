"""WSGI integration (Flask, Django, any WSGI app): a middleware that refuses requests
without valid credentials and puts the ``AuthContext`` in ``environ["authgate.auth"]``.

    app.wsgi_app = AuthMiddleware(app.wsgi_app, Gate(api_keys=manager))
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from http import HTTPStatus
from typing import Any, Callable, Optional
from urllib.parse import quote, urlsplit

from authgate._authgate import request_url
from authgate.errors import AuthError
from authgate.web import Gate

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]


# What stays as it is when a decoded path is percent-encoded again (RFC 3986 pchar and `/`).
_PATH_SAFE = "/:@!$&'()*+,;=-._~"
# absolute-form (RFC 9112 §3.2.2), as a request through a forward proxy names its target
_ABSOLUTE_FORM = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


def _encode_path(path: str) -> str:
    return quote(path.encode("latin-1", "replace"), safe=_PATH_SAFE)


def with_prefix(target: str, prefix: str) -> str:
    """``target`` under the mount point ``prefix`` (``SCRIPT_NAME``, ASGI ``root_path``) when
    it is not already there: a proxy that strips ``/api`` (and says so, e.g. through
    ``X-Forwarded-Prefix`` and Werkzeug's ``ProxyFix``) forwards ``/x`` for the ``/api/x``
    the client signed."""
    prefix = prefix.rstrip("/")
    if not prefix:
        return target
    path = target.split("?", 1)[0]
    for form in (prefix, _encode_path(prefix)):
        if path == form or path.startswith(form + "/"):
            return target
    return _encode_path(prefix) + target


def raw_target(environ: Environ) -> str:
    """The request target as the client sent it: ``/path?query``, percent-encoding kept,
    under the app's mount point (``SCRIPT_NAME``) when a proxy stripped it.

    It comes from ``RAW_URI`` (gunicorn, Werkzeug) or ``REQUEST_URI`` (uWSGI, Werkzeug); an
    absolute-form target (``http://host/path``) gives its path and query. A server that sets
    neither (``wsgiref``) only gives the decoded ``PATH_INFO``: it is percent-encoded again,
    which restores non-ASCII and reserved characters but cannot tell an encoded slash
    (``%2F``) from ``/``."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if isinstance(raw, str) and raw:
        if not raw.startswith("/") and _ABSOLUTE_FORM.match(raw):
            parts = urlsplit(raw)
            raw = (parts.path or "/") + (f"?{parts.query}" if "?" in raw else "")
        if raw.startswith("/"):
            return with_prefix(raw, environ.get("SCRIPT_NAME", ""))
    target = _encode_path(f"{environ.get('SCRIPT_NAME', '')}{environ.get('PATH_INFO', '')}" or "/")
    query = environ.get("QUERY_STRING", "")
    return f"{target}?{query}" if query else target


def _host(environ: Environ) -> str:
    return environ.get("HTTP_HOST") or f"{environ.get('SERVER_NAME', 'localhost')}:{environ.get('SERVER_PORT', '80')}"


def request_origin(environ: Environ) -> str:
    """``scheme://host`` of the request, from ``wsgi.url_scheme`` and ``Host``. Raises
    ``InvalidInput`` when ``Host`` is not a host (``h/admin?``, ``user@h``, spaces)."""
    return request_url(environ.get("wsgi.url_scheme", "http"), _host(environ), "/")[:-1]


def request_target_url(environ: Environ, *, origin: Optional[str] = None) -> str:
    """The URL to give ``RequestVerifier.verify``: the origin (``scheme://host``, or
    ``origin`` — your public origin behind a proxy that rewrites ``Host``) and the raw
    request target, query included (see :func:`raw_target`). Not Flask's ``request.url``
    nor Django's ``build_absolute_uri()``: they decode the path (``%2F`` becomes ``/``) and
    encode it again their own way, so a signature over the URL the client sent fails.
    Raises ``InvalidInput`` when ``Host`` is not a host (the core's ``request_url``)."""
    if origin:
        return f"{origin.rstrip('/')}{raw_target(environ)}"
    return request_url(environ.get("wsgi.url_scheme", "http"), _host(environ), raw_target(environ))


def gate_url(environ: Environ) -> str:
    """What a gate checks a DPoP proof's ``htu`` against: the absolute URL without its
    query, or the bare path when ``Host`` is not a host (a DPoP proof then fails to match,
    a request without one is unaffected)."""
    return url_or_path(environ.get("wsgi.url_scheme", "http"), _host(environ), raw_target(environ))


def url_or_path(scheme: str, host: str, target: str) -> str:
    """The absolute URL without its query, or the bare path when ``Host`` is not a host:
    what every Python gate hands the core as the request's URL."""
    path = target.split("?", 1)[0]
    try:
        return request_url(scheme, host, path)
    except AuthError:
        return path


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
            context = self.gate.authenticate(
                header, environ.get("REMOTE_ADDR"), method=environ.get("REQUEST_METHOD", "GET"), url=gate_url(environ)
            )
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
