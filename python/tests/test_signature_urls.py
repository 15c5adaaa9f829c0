"""#20 item 20: the URL to give ``RequestVerifier.verify`` in each Python framework.

A client signs the URL it sends (RFC 9421 covers ``@authority``, ``@path`` and ``@query``
as sent). Frameworks hand views a URL rebuilt from the decoded path — ``%2F`` becomes
``/`` and non-ASCII is encoded again their way — so it no longer matches. Each framework
below runs on a real server; a client signs a path with an encoded slash and a UTF-8
character and sends it byte for byte (http.client). The helpers
(``authgate.wsgi.request_target_url``, ``authgate.asgi.request_target_url``,
``authgate.flask.request_target_url``, ``authgate.django.request_target_url``) give back
the URL the client signed; the framework's own URL does not.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
from servers import asgi_server, werkzeug_server, wsgi_server

import authgate

KEY = authgate.SignatureKey.hmac_sha256(b"signed-request-url-tests-0123456789abcdef")
SLASH = "/sig/files/a%2Fb/caf%C3%A9?q=x%20y&z=%2F"  # an encoded slash: needs the raw target
PLAIN = "/sig/files/caf%C3%A9?q=x%20y"  # no encoded slash: a re-encoded path matches too
BODY = b'{"item": "book"}'


def check(method: str, url: str, headers: Any, body: bytes, naive: str) -> tuple[int, dict[str, Any]]:
    """What each app's view does: verify with the helper's URL, and report both URLs."""
    verifier = authgate.RequestVerifier({"client-1": KEY})
    try:
        verified = verifier.verify(method, url, headers, body)
        return 200, {"keyid": verified.keyid, "url": url, "naive": naive}
    except authgate.SignatureError as e:
        return 401, {"error": e.code, "url": url, "naive": naive}


def send(
    base: str, target: str, signed: str | None = None, extra: dict[str, str] | None = None
) -> tuple[int, dict[str, Any]]:
    """Signs ``signed`` (by default ``base + target``) and sends ``target`` byte for byte."""
    url = signed or f"{base}{target}"
    headers = {"content-type": "application/json", **(extra or {})}
    headers.update(authgate.RequestSigner("client-1", KEY).sign("POST", url, headers, BODY))
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request("POST", target, BODY, headers)
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def wsgi_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    from authgate.wsgi import request_target_url

    size = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(size)
    headers = [(k[5:].replace("_", "-").lower(), v) for k, v in environ.items() if k.startswith("HTTP_")]
    headers.append(("content-type", environ.get("CONTENT_TYPE", "")))
    naive = f"http://{environ['HTTP_HOST']}{environ.get('PATH_INFO', '')}?{environ.get('QUERY_STRING', '')}"
    status, out = check(environ["REQUEST_METHOD"], request_target_url(environ), headers, body, naive)
    start_response(f"{status} X", [("content-type", "application/json")])
    return [json.dumps(out).encode()]


def flask_app() -> Any:
    from flask import Flask, request

    from authgate.flask import request_target_url

    app = Flask(__name__)

    @app.post("/sig/<path:rest>")
    def signed(rest: str) -> Any:
        status, out = check(
            request.method, request_target_url(), dict(request.headers), request.get_data(), request.url
        )
        return out, status

    return app


def starlette_app() -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from authgate.asgi import request_target_url

    async def signed(request: Request) -> JSONResponse:
        body = await request.body()
        status, out = check(
            request.method, request_target_url(request.scope), request.headers.items(), body, str(request.url)
        )
        return JSONResponse(out, status_code=status)

    return Starlette(routes=[Route("/sig/{rest:path}", signed, methods=["POST"])])


def django_view(request: Any) -> Any:
    from django.http import JsonResponse

    from authgate.django import request_target_url

    status, out = check(
        request.method, request_target_url(request), dict(request.headers), request.body, request.build_absolute_uri()
    )
    return JsonResponse(out, status=status)


def django_app(kind: str) -> Any:
    import test_django_flask
    from test_frameworks import World

    test_django_flask._configure_django()
    test_django_flask.SIGNED = django_view
    if test_django_flask.GATE is None:  # the middleware needs a gate; these paths are excluded
        test_django_flask.GATE = World().gate
    if kind == "asgi":
        from django.core.handlers.asgi import ASGIHandler

        return ASGIHandler()
    from django.core.handlers.wsgi import WSGIHandler

    return WSGIHandler()


SERVERS: dict[str, Callable[[], Any]] = {
    "wsgi on werkzeug": lambda: werkzeug_server(wsgi_app),
    "flask on werkzeug": lambda: werkzeug_server(flask_app()),
    "starlette on uvicorn": lambda: asgi_server(starlette_app()),
    "django wsgi on werkzeug": lambda: werkzeug_server(django_app("wsgi")),
    "django asgi on uvicorn": lambda: asgi_server(django_app("asgi")),
}


@pytest.mark.parametrize("name", list(SERVERS))
def test_the_helper_gives_the_url_the_client_signed(name: str) -> None:
    with SERVERS[name]() as base:
        for target in (SLASH, PLAIN):
            status, out = send(base, target)
            assert (status, out.get("keyid")) == (200, "client-1"), (target, out)
            assert out["url"] == f"{base}{target}"
        # The framework's own URL is not the one signed: the encoded slash is decoded.
        status, out = send(base, SLASH)
        assert status == 200 and out["naive"] != f"{base}{SLASH}", out


def test_a_server_without_the_raw_target_loses_only_encoded_slashes() -> None:
    """wsgiref sets neither RAW_URI nor REQUEST_URI: the helper encodes PATH_INFO again,
    which restores UTF-8 and spaces but turns ``%2F`` into ``/`` (documented)."""
    with wsgi_server(wsgi_app) as base:
        status, out = send(base, PLAIN)
        assert (status, out["url"]) == (200, f"{base}{PLAIN}"), out
        status, out = send(base, SLASH)
        assert (status, out["error"]) == (401, "signature_mismatch"), out
        assert out["url"] == f"{base}{SLASH.replace('%2F', '/', 1)}"


def test_the_helpers_read_every_form_of_target() -> None:
    from authgate.asgi import request_target_url as asgi_url
    from authgate.wsgi import raw_target, request_target_url

    environ = {
        "wsgi.url_scheme": "https",
        "HTTP_HOST": "api.example.com",
        "PATH_INFO": "/a b/é",
        "QUERY_STRING": "x=1",
        "SCRIPT_NAME": "/app",
    }
    # PATH_INFO is Latin-1 text of the raw bytes (PEP 3333): é arrived as two UTF-8 bytes.
    environ["PATH_INFO"] = "/a b/" + "é".encode().decode("latin-1")
    assert request_target_url(environ) == "https://api.example.com/app/a%20b/%C3%A9?x=1"
    # The raw target under the mount point: kept when it is there, put back when a proxy stripped it.
    assert (
        request_target_url({**environ, "RAW_URI": "/app/raw%2Fpath?y=2"})
        == "https://api.example.com/app/raw%2Fpath?y=2"
    )
    assert request_target_url({**environ, "RAW_URI": "/raw%2Fpath?y=2"}) == "https://api.example.com/app/raw%2Fpath?y=2"
    assert raw_target({**environ, "RAW_URI": "/application"}) == "/app/application"  # a segment, not a string prefix
    assert raw_target({**environ, "RAW_URI": "/app"}) == "/app"
    assert raw_target({**environ, "SCRIPT_NAME": "/caf\xc3\xa9", "RAW_URI": "/caf%C3%A9/x"}) == "/caf%C3%A9/x"
    assert raw_target({**environ, "SCRIPT_NAME": "", "REQUEST_URI": "/uwsgi%2F"}) == "/uwsgi%2F"
    # absolute-form, as a forward proxy sends it; a path that holds a URL is not absolute-form
    bare = {**environ, "SCRIPT_NAME": ""}
    assert raw_target({**bare, "RAW_URI": "http://api.example.com/p%2Fq?z"}) == "/p%2Fq?z"
    assert raw_target({**bare, "RAW_URI": "HTTPS://api.example.com"}) == "/"
    assert raw_target({**bare, "RAW_URI": "http://h?q"}) == "/?q"
    assert raw_target({**bare, "RAW_URI": "/fetch/https://x/y"}) == "/fetch/https://x/y"
    assert raw_target({**bare, "RAW_URI": "/a/http://b/c?d"}) == "/a/http://b/c?d"
    assert request_target_url(environ, origin="https://public.example") == "https://public.example/app/a%20b/%C3%A9?x=1"
    scope = {
        "type": "http",
        "scheme": "http",
        "headers": [(b"host", b"h:8000")],
        "path": "/a/b",
        "raw_path": b"/a%2Fb",
        "query_string": b"q=%2F",
    }
    assert asgi_url(scope) == "http://h:8000/a%2Fb?q=%2F"
    assert asgi_url({**scope, "raw_path": None, "query_string": b""}) == "http://h:8000/a/b"
    assert asgi_url(scope, origin="https://public.example/") == "https://public.example/a%2Fb?q=%2F"
    # ASGI: root_path is the mount point; servers differ on whether `path` includes it.
    assert asgi_url({**scope, "root_path": "/api"}) == "http://h:8000/api/a%2Fb?q=%2F"
    assert asgi_url({**scope, "root_path": "/api", "raw_path": b"/api/a%2Fb"}) == "http://h:8000/api/a%2Fb?q=%2F"
    assert (
        asgi_url({**scope, "root_path": "/api", "raw_path": None, "path": "/api/a/b"}) == "http://h:8000/api/a/b?q=%2F"
    )
    assert asgi_url({**scope, "root_path": "/api", "raw_path": None}) == "http://h:8000/api/a/b?q=%2F"


def test_a_stripped_prefix_is_told_from_a_path_that_repeats_it() -> None:
    """Behind a proxy that strips ``/api``, a client's ``/api/api/x`` arrives as ``/api/x``:
    the decoded path the app sees (``SCRIPT_NAME + PATH_INFO``, ASGI ``path``) tells it from
    a client's ``/api/x`` on a server that got the prefix, so two URLs never become one."""
    from authgate.asgi import raw_target as asgi_target
    from authgate.wsgi import raw_target

    stripped = {"SCRIPT_NAME": "/api", "PATH_INFO": "/api/x", "RAW_URI": "/api/x"}
    assert raw_target(stripped) == "/api/api/x"
    mounted = {"SCRIPT_NAME": "/api", "PATH_INFO": "/x", "RAW_URI": "/api/x"}
    assert raw_target(mounted) == "/api/x"
    assert raw_target({**mounted, "PATH_INFO": "/a/b", "RAW_URI": "/a%2Fb?q"}) == "/api/a%2Fb?q"
    scope = {"type": "http", "headers": [], "root_path": "/api", "query_string": b""}
    # uvicorn --root-path: `path` holds the root path, `raw_path` what the proxy forwarded.
    assert asgi_target({**scope, "path": "/api/api/x", "raw_path": b"/api/x"}) == "/api/api/x"
    assert asgi_target({**scope, "path": "/api/x", "raw_path": b"/api/x"}) == "/api/x"
    # a server that leaves the root path out of `path` (the ASGI spec's older reading)
    assert asgi_target({**scope, "path": "/x", "raw_path": b"/x"}) == "/api/x"
    # A root_path is text: a non-ASCII mount point is put back as UTF-8.
    caf = {**scope, "root_path": "/café"}
    assert asgi_target({**caf, "path": "/café/x", "raw_path": b"/x"}) == "/caf%C3%A9/x"
    assert asgi_target({**caf, "path": "/café/x", "raw_path": None}) == "/caf%C3%A9/x"


def test_targets_the_review_found() -> None:
    """A malformed absolute-form authority never raises; a raw ``#`` (uvicorn's h11 passes it
    to the router) and other targets that are no path give no URL at all, never ``/``;
    Werkzeug's server decodes PATH_INFO as UTF-8 with U+FFFD, which still tells a stripped
    prefix from a repeated one."""
    from authgate.asgi import _url
    from authgate.wsgi import gate_url, raw_target

    environ = {"wsgi.url_scheme": "http", "HTTP_HOST": "h", "PATH_INFO": "/a"}
    assert raw_target({**environ, "RAW_URI": "http://[x/a"}) == "/a"
    assert gate_url({**environ, "RAW_URI": "http://[x/a"}) == "http://h/a"
    assert gate_url({**environ, "RAW_URI": "ftp://x/admin/users/1"}) == "http://h/admin/users/1"
    assert gate_url({**environ, "RAW_URI": "/files/a.txt#/../../etc/passwd"}) == ""
    scope = {"type": "http", "scheme": "http", "headers": [(b"host", b"h")], "query_string": b""}
    hashed = {**scope, "path": "/files/a.txt#/../x", "raw_path": b"/files/a.txt#/../x"}
    assert _url(hashed) == ""
    assert _url({**scope, "path": "*", "raw_path": b"*"}) == ""
    # Werkzeug's dev server behind ProxyFix(x_prefix=1): %FF decoded as U+FFFD, in UTF-8 bytes.
    ffff = "\ufffd".encode().decode("latin-1")
    stripped = {"SCRIPT_NAME": "/api", "PATH_INFO": "/x" + ffff, "RAW_URI": "/x%FF"}
    repeated = {"SCRIPT_NAME": "/api", "PATH_INFO": "/api/x" + ffff, "RAW_URI": "/api/x%FF"}
    assert (raw_target(stripped), raw_target(repeated)) == ("/api/x%FF", "/api/api/x%FF")


def test_the_asgi_server_address_is_a_host() -> None:
    """With no Host header the helpers fall back to the scope's server: an IPv6 address in
    brackets, a Unix socket (no port) refused as not a host; the gate's URL is the bare path."""
    from authgate.asgi import _url, request_origin

    scope = {"type": "http", "scheme": "http", "headers": [], "path": "/x", "raw_path": b"/x", "query_string": b""}
    assert request_origin({**scope, "server": ("::1", 8000)}) == "http://[::1]:8000"
    assert request_origin({**scope, "server": ("127.0.0.1", 80)}) == "http://127.0.0.1:80"
    with pytest.raises(authgate.InvalidInput):
        request_origin({**scope, "server": ("/run/app.sock", None)})
    assert _url({**scope, "server": ("::1", 8000)}) == "/x"


@pytest.mark.parametrize("host", ["api.example.com/admin?", "h#", "user@h", "h x", "h\r\nx", "", "h:80a", "::1"])
def test_a_host_header_that_is_not_a_host_moves_nothing(host: str) -> None:
    """A Host such as ``api.example.com/admin?`` would otherwise move the path the URL
    names (``https://api.example.com/admin?/other``): the helpers raise InvalidInput, and
    what the gates check a DPoP proof against is then the bare path, which no proof matches."""
    from authgate.asgi import _url
    from authgate.asgi import request_origin as asgi_origin
    from authgate.asgi import request_target_url as asgi_url
    from authgate.wsgi import gate_url, request_origin, request_target_url

    environ = {"wsgi.url_scheme": "https", "HTTP_HOST": host, "RAW_URI": "/other?x", "PATH_INFO": "/other"}
    if host == "":
        environ["SERVER_NAME"] = "bad/name"
    scope = {
        "type": "http",
        "scheme": "https",
        "headers": [(b"host", host.encode())] if host else [],
        "server": ("bad/name", 443),
        "path": "/other",
        "raw_path": b"/other",
        "query_string": b"x",
    }
    for call in (
        lambda: request_origin(environ),
        lambda: request_target_url(environ),
        lambda: asgi_origin(scope),
        lambda: asgi_url(scope),
    ):
        with pytest.raises(authgate.InvalidInput):
            call()
    assert gate_url(environ) == "/other"
    assert _url(scope) == "/other"
    # An origin the app names is used as it is.
    assert request_target_url(environ, origin="https://api.example.com") == "https://api.example.com/other?x"


def test_flask_behind_a_proxy_that_strips_a_prefix() -> None:
    """Werkzeug's ProxyFix(x_prefix=1) puts ``X-Forwarded-Prefix`` in SCRIPT_NAME: the
    client signed ``/api/sig/...``, the proxy forwarded ``/sig/...``."""
    from werkzeug.middleware.proxy_fix import ProxyFix

    app = flask_app()
    app.wsgi_app = ProxyFix(app.wsgi_app, x_prefix=1)  # type: ignore[method-assign]
    with werkzeug_server(app) as base:
        url = f"{base}/api{SLASH}"
        status, out = send(base, SLASH, url, {"x-forwarded-prefix": "/api"})
        assert (status, out.get("keyid"), out["url"]) == (200, "client-1", url), out


@pytest.mark.parametrize("kind", ["wsgi", "asgi"])
def test_django_under_force_script_name(kind: str) -> None:
    from django.test import override_settings

    app = django_app(kind)
    with override_settings(FORCE_SCRIPT_NAME="/api"):
        with werkzeug_server(app) if kind == "wsgi" else asgi_server(app) as base:
            url = f"{base}/api{SLASH}"
            status, out = send(base, SLASH, url)
            assert (status, out.get("keyid"), out["url"]) == (200, "client-1", url), out


def test_starlette_under_a_root_path() -> None:
    """uvicorn ``--root-path /api`` (a proxy stripped ``/api``): the URL the client signed."""
    with asgi_server(starlette_app(), root_path="/api") as base:
        url = f"{base}/api{SLASH}"
        status, out = send(base, SLASH, url)
        assert (status, out.get("keyid"), out["url"]) == (200, "client-1", url), out


def test_an_absolute_form_target_never_names_the_url() -> None:
    """uvicorn's h11 backend passes an absolute-form target (``POST https://other/x``) in
    ``raw_path``: its path is used, never its authority (a DPoP proof made for another
    server must not match)."""
    from authgate.asgi import _url, raw_target

    scope = {
        "type": "http",
        "scheme": "http",
        "headers": [(b"host", b"api.example.com")],
        "path": "/transfer",
        "raw_path": b"https://other.example/transfer",
        "query_string": b"",
    }
    assert raw_target(scope) == "/transfer"
    assert _url(scope) == "http://api.example.com/transfer"
