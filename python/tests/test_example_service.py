"""`make demo`'s example service and scripted client, run end to end as `make demo` runs
them: with the in-memory stores, and with Redis (REDIS_URL) as several servers would."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from conftest import REPO
from stores import redis_url

DEMO = REPO / "examples" / "demo.py"


def run_demo(env: dict[str, str], runtime: str = "python") -> str:
    result = subprocess.run(
        [sys.executable, str(DEMO), "--runtime", runtime], capture_output=True, text=True, timeout=120, env=env
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.mark.parametrize("runtime", ["python", "node"])
def test_the_demo_walks_all_nine_steps_in_memory(runtime: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    out = run_demo(env, runtime)
    assert "(MemoryStore, in-memory stores)" in out
    assert ("app.mjs (Node, Express)" if runtime == "node" else "app.py (Python, FastAPI)") in out
    for n in range(1, 10):
        assert f"\n{n}. " in out, f"step {n} missing"
    assert "All 9 steps behaved as expected." in out
    # The SMS the service "sent" shows in the transcript, marked as the service's.
    assert "[service] [sms to +1 555 0100] your code is" in out
    assert "429" in out and "retry-after:" in out and "refresh_token_reused" in out


@pytest.mark.parametrize("runtime", ["python", "node"])
def test_the_demo_runs_on_redis_when_redis_url_is_set(runtime: str) -> None:
    url = redis_url()
    if url is None:
        pytest.skip("AUTHGATE_REDIS_URL is not set")
    out = run_demo({**os.environ, "REDIS_URL": url}, runtime)
    assert "(RedisStore, Redis at" in out
    assert "All 9 steps behaved as expected." in out


@contextmanager
def example_service(runtime: str) -> Iterator[str]:
    """The example service of one runtime on a free loopback port, in memory."""
    import importlib.util
    import socket
    import time

    import httpx
    from servers import asgi_server

    if runtime == "python":
        spec = importlib.util.spec_from_file_location("example_service", REPO / "examples" / "service" / "app.py")
        assert spec is not None and spec.loader is not None
        service = importlib.util.module_from_spec(spec)
        sys.modules["example_service"] = service
        env = {k: v for k, v in os.environ.items()}
        os.environ.pop("REDIS_URL", None)
        try:
            spec.loader.exec_module(service)
        finally:
            os.environ.clear()
            os.environ.update(env)
        with asgi_server(service.app) as base:
            yield base
        return
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    node = subprocess.Popen(
        ["node", str(REPO / "examples" / "service" / "app.mjs")],
        env={**env, "PORT": str(port)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base}/health", timeout=1)
                break
            except httpx.HTTPError:
                assert node.poll() is None and time.monotonic() < deadline, "the Node service did not start"
                time.sleep(0.05)
        yield base
    finally:
        node.terminate()
        node.wait(10)


@pytest.mark.parametrize("runtime", ["python", "node"])
def test_the_example_service_is_safe_to_copy(runtime: str) -> None:
    """What a copier inherits: signup never overwrites an account, a second authenticator
    needs the current one, and password guessing is throttled per username and per address."""
    import httpx

    import authgate

    with example_service(runtime) as base, httpx.Client(base_url=base) as http:
        app = http.post("/apps", json={"name": "shop"}).json()
        h = {"x-api-key": app["api_key"]}
        assert (
            http.post("/signup", json={"username": "bob", "password": "Correct-horse-7"}, headers=h).status_code == 201
        )
        # An account is never replaced by a second signup (that would take it over).
        r = http.post("/signup", json={"username": "bob", "password": "Another-horse-8"}, headers=h)
        assert r.status_code == 409 and r.json()["error"] == "username_taken"
        r = http.post("/login", json={"username": "bob", "password": "Another-horse-8"}, headers=h)
        assert r.status_code == 401
        # Enroll, then try to move the second factor with the password alone.
        login = http.post("/login", json={"username": "bob", "password": "Correct-horse-7"}, headers=h).json()
        mfa = {"authorization": f"Bearer {login['mfa_token']}"}
        uri = http.post("/mfa/enroll", headers=mfa).json()["otpauth_uri"]
        authenticator = authgate.Totp.from_uri(uri)
        assert http.post("/mfa/confirm", json={"code": authenticator.now()}, headers=mfa).status_code == 200
        r = http.post("/mfa/enroll", headers=mfa)
        assert r.status_code == 409 and r.json()["error"] == "already_enrolled"
        r = http.post("/mfa/enroll", json={"current_code": "000000"}, headers=mfa)
        assert r.status_code == 401 and r.json()["error"] in ("invalid_code", "code_reused")
        # Guessing: five tries per username per minute, then 429 with Retry-After.
        statuses = [
            http.post("/login", json={"username": "bob", "password": f"guess-{i}"}, headers=h).status_code
            for i in range(3)
        ]
        assert statuses == [401, 401, 401]
        r = http.post("/login", json={"username": "bob", "password": "guess-x"}, headers=h)
        assert r.status_code == 429 and r.json()["error"] == "rate_limited" and int(r.headers["retry-after"]) >= 1
        # Another username is limited separately, until the address's own limit.
        assert http.post("/login", json={"username": "carol", "password": "x"}, headers=h).status_code == 401
