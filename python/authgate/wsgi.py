"""WSGI integration (Flask, Django, any WSGI app): a middleware that refuses requests
without valid credentials and puts the ``AuthContext`` in ``environ["authgate.auth"]``.

    app.wsgi_app = AuthMiddleware(app.wsgi_app, Gate(api_keys=manager))
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any, Optional
from urllib.parse import quote, unquote

from authgate._authgate import gate_url as _gate_url
from authgate._authgate import request_url
from authgate.web import Gate, GateRefusal

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]


# What stays as it is when a decoded path is percent-encoded again (RFC 3986 pchar and `/`).
_PATH_SAFE = "/:@!$&'()*+,;=-._~"
# absolute-form (RFC 9112 §3.2.2), as a request through a forward proxy names its target
_ABSOLUTE_FORM = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


def _encode_path(path: str, encoding: str = "latin-1") -> str:
    # WSGI strings are bytes as Latin-1 text (PEP 3333); an ASGI root_path is real text.
    return quote(path.encode(encoding, "replace"), safe=_PATH_SAFE)


def with_prefix(target: str, prefix: str, decoded: Optional[str] = None, *, encoding: str = "latin-1") -> str:
    """``target`` (the raw ``/path?query`` the server received) under the mount point
    ``prefix`` (``SCRIPT_NAME``, ASGI ``root_path``) when a proxy stripped it: a proxy that
    strips ``/api`` (and says so, e.g. through ``X-Forwarded-Prefix`` and Werkzeug's
    ``ProxyFix``) forwards ``/x`` for the ``/api/x`` the client signed.

    ``decoded`` is the whole decoded path the app sees (``SCRIPT_NAME + PATH_INFO``; ASGI's
    ``path``): when the received path decodes to it, the server got the prefix and the
    target is kept; when the prefix and the received path make it, the prefix was stripped
    and is put back — so ``/api/api/x`` behind a stripping proxy stays apart from
    ``/api/x``. Only when neither holds (a middleware rewrote the path) is the prefix put
    back when the target does not already start with it (whole segments)."""
    bare = prefix.rstrip("/")
    if not bare:
        return target
    path = target.split("?", 1)[0]
    if decoded is not None:
        # Servers decode the raw path byte for byte (PEP 3333) or as UTF-8 with U+FFFD for
        # what is not (Werkzeug's own server): either reading may be the one they used.
        readings = {unquote(path, encoding=encoding, errors="replace")}
        if encoding == "latin-1":
            readings.add(unquote(path, errors="replace").encode("utf-8").decode("latin-1"))
        if decoded in readings:
            return target
        if any(bare + seen == decoded or prefix + seen == decoded for seen in readings):
            return _encode_path(bare, encoding) + target
    for form in (bare, _encode_path(bare, encoding)):
        if path == form or path.startswith(form + "/"):
            return target
    return _encode_path(bare, encoding) + target


def origin_form(raw: str) -> str:
    """An absolute-form target (``http://host/p?q``, RFC 9112 §3.2.2) as its path and query,
    never its authority — the core's reading (``http::gate_url``), with no parser that could
    raise on a malformed authority (``http://[x/a``); any other target as it is."""
    if raw.startswith("/") or not _ABSOLUTE_FORM.match(raw):
        return raw
    rest = raw.split("://", 1)[1]
    cut = min((i for i in (rest.find("/"), rest.find("?")) if i >= 0), default=len(rest))
    tail = rest[cut:]
    return tail if tail.startswith("/") else "/" + tail


def raw_target(environ: Environ) -> str:
    """The request target as the client sent it: ``/path?query``, percent-encoding kept,
    under the app's mount point (``SCRIPT_NAME``) when a proxy stripped it.

    It comes from ``RAW_URI`` (gunicorn, Werkzeug) or ``REQUEST_URI`` (uWSGI, Werkzeug); an
    absolute-form target (``http://host/path``) gives its path and query. A server that sets
    neither (``wsgiref``) only gives the decoded ``PATH_INFO``: it is percent-encoded again,
    which restores non-ASCII and reserved characters but cannot tell an encoded slash
    (``%2F``) from ``/``."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    script = environ.get("SCRIPT_NAME", "")
    if isinstance(raw, str) and raw:
        raw = origin_form(raw)
        if raw.startswith("/"):
            info = environ.get("PATH_INFO")
            return with_prefix(raw, script, script + info if isinstance(info, str) else None)
        # `*` (OPTIONS *) or what is no target: as received, so the core gives it no URL.
        return raw
    target = _encode_path(f"{script}{environ.get('PATH_INFO', '')}" or "/")
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
    """What a gate checks a DPoP proof's ``htu`` against (the core's ``gate_url``): the
    absolute URL without its query, or the bare path when the request has no ``Host`` or
    one that is not a host (a DPoP proof then fails to match, a request without one is
    unaffected). Never raises."""
    host = environ.get("HTTP_HOST")
    return _gate_url(
        str(environ.get("wsgi.url_scheme", "http")), host if isinstance(host, str) else None, raw_target(environ)
    )


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

        context = self.gate.check(
            header, environ.get("REMOTE_ADDR"), method=environ.get("REQUEST_METHOD", "GET"), url=gate_url(environ)
        )
        if isinstance(context, GateRefusal):
            status, headers, body = context.response
            start_response(f"{status} {HTTPStatus(status).phrase}", headers + [("content-length", str(len(body)))])
            return [body]
        environ["authgate.auth"] = context
        extra = self.gate.response_headers(context)
        if not extra:
            return self.app(environ, start_response)

        def start_with_headers(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            return start_response(status, headers + extra, exc_info)

        return self.app(environ, start_with_headers)
