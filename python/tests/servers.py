"""Real servers on loopback for the integration tests: uvicorn for ASGI, wsgiref for WSGI."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import uvicorn


@contextmanager
def asgi_server(app: Any, root_path: str = "") -> Iterator[str]:
    # Room for the vectors' oversized Authorization header (the gate refuses it, not h11).
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        log_level="warning",
        lifespan="off",
        h11_max_incomplete_event_size=64 * 1024,
        proxy_headers=False,
        root_path=root_path,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def _serving(server: Any) -> Iterator[str]:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)


def wsgi_server(app: Any) -> Any:
    """wsgiref: PEP 3333's variables only (no RAW_URI or REQUEST_URI)."""
    return _serving(make_server("127.0.0.1", 0, app, handler_class=_Quiet))


def werkzeug_server(app: Any) -> Any:
    """Werkzeug's server: it also passes the raw request target (RAW_URI, REQUEST_URI)."""
    from werkzeug.serving import make_server as werkzeug_make_server

    return _serving(werkzeug_make_server("127.0.0.1", 0, app))
