"""The Redis backend from Python against a real server: two processes sharing one limit,
two instances racing on one refresh token and one webhook id, asyncio variants that keep
the event loop free while Redis is slow, and a server stopped and restarted mid-test."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Iterator
from typing import Any

import pytest
from stores import redis_store, require_redis

import authgate
from authgate.aio import AsyncRateLimiter, AsyncSessionManager, AsyncWebhookVerifier

NOW = 1_700_000_000


def test_two_processes_share_one_limit() -> None:
    url = require_redis()
    prefix = redis_store(url).prefix
    script = (
        "import sys, authgate\n"
        "limiter = authgate.RateLimiter(authgate.RedisStore(sys.argv[1], prefix=sys.argv[2]))\n"
        "limiter.set_policy('p', '40/hour')\n"
        "print(sum(1 for _ in range(60) if limiter.check('shared', policy='p').allowed))\n"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", script, url, prefix], stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    counts = [int(p.communicate(timeout=60)[0]) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert sum(counts) == 40, counts
    # This process sees the same, empty bucket.
    limiter = authgate.RateLimiter(authgate.RedisStore(url, prefix=prefix))
    limiter.set_policy("p", "40/hour")
    assert limiter.peek("shared", policy="p").remaining == 0


def test_one_refresh_token_on_two_instances_has_one_winner() -> None:
    url = require_redis()
    prefix = redis_store(url).prefix
    keys = authgate.KeySet([authgate.Key.hmac(authgate.Key.generate_hmac_secret(), kid="k")])
    managers = [authgate.SessionManager(keys, store=authgate.RedisStore(url, prefix=prefix)) for _ in range(2)]
    login = managers[0].login("alice", "phone")
    barrier = threading.Barrier(8)
    outcomes: list[str] = []

    def race(i: int) -> None:
        barrier.wait()
        try:
            managers[i % 2].refresh(login.tokens.refresh_token)
            outcomes.append("ok")
        except (authgate.RefreshTokenReused, authgate.SessionRevoked):
            outcomes.append("reused")

    threads = [threading.Thread(target=race, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["ok"] + ["reused"] * 7
    assert managers[1].list("alice") == []


def test_a_webhook_replayed_on_another_instance_is_refused() -> None:
    url = require_redis()
    prefix = redis_store(url).prefix
    secret = authgate.WebhookKey.generate_secret()
    verifiers = [authgate.WebhookVerifier([secret], store=authgate.RedisStore(url, prefix=prefix)) for _ in range(2)]
    ts = int(time.time())
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(ts),
        "webhook-signature": authgate.sign_webhook([secret], "msg_1", ts, b"{}"),
    }
    verifiers[0].verify(headers, b"{}")
    with pytest.raises(authgate.ReplayDetected):
        verifiers[1].verify(headers, b"{}")


def test_async_checks_share_the_limit_exactly() -> None:
    url = require_redis()
    limiter = authgate.RateLimiter(redis_store(url))
    limiter.set_policy("p", "30/hour")
    aio = AsyncRateLimiter(limiter)

    async def main() -> list[authgate.RateDecision]:
        return await asyncio.gather(*(aio.check("k", policy="p") for _ in range(100)))

    decisions = asyncio.run(main())
    assert sum(d.allowed for d in decisions) == 30


def test_async_sessions_and_webhooks_work_on_redis() -> None:
    url = require_redis()
    store = redis_store(url)
    keys = authgate.KeySet([authgate.Key.hmac(authgate.Key.generate_hmac_secret(), kid="k")])
    sessions = AsyncSessionManager(authgate.SessionManager(keys, store=store))
    secret = authgate.WebhookKey.generate_secret()
    hooks = AsyncWebhookVerifier(authgate.WebhookVerifier([secret], store=store))

    async def main() -> None:
        login = await sessions.login("bob", "laptop")
        pair = await sessions.refresh(login.tokens.refresh_token)
        assert (await sessions.verify_access(pair.access_token))["sub"] == "bob"
        assert [s.device_id for s in await sessions.list("bob")] == ["laptop"]
        with pytest.raises(authgate.RefreshTokenReused):
            await sessions.refresh(login.tokens.refresh_token)
        ts = int(time.time())
        headers = {
            "webhook-id": "m",
            "webhook-timestamp": str(ts),
            "webhook-signature": authgate.sign_webhook([secret], "m", ts, b"x"),
        }
        assert (await hooks.verify(headers, b"x")).id == "m"
        with pytest.raises(authgate.ReplayDetected):
            await hooks.verify(headers, b"x")

    asyncio.run(main())


class PrivateRedis:
    """A redis-server of this test's own on a free loopback port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="authgate-redis-")
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def start(self) -> None:
        server = shutil.which("redis-server")
        assert server, "redis-server is not installed"
        self.proc = subprocess.Popen(
            [
                server,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self.dir,
            ],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.02)

    def stop(self) -> None:
        if self.proc:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def command(self, *args: str) -> bytes:
        """Sends one command in RESP and returns the first reply line."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
            s.sendall(f"*{len(args)}\r\n".encode() + b"".join(f"${len(a)}\r\n{a}\r\n".encode() for a in args))
            return s.recv(1024)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    require_redis()
    server = PrivateRedis()
    yield server
    server.stop()
    shutil.rmtree(server.dir, ignore_errors=True)


def test_a_stopped_redis_fails_closed_fast_then_recovers(private_redis: PrivateRedis) -> None:
    store = authgate.RedisStore(private_redis.url, connect_timeout=0.5, timeout=0.5)
    store.ping()
    limiter = authgate.RateLimiter(store)
    limiter.set_policy("p", "3/hour")
    assert limiter.check("k", policy="p").allowed
    private_redis.stop()
    started = time.monotonic()
    with pytest.raises(authgate.StoreUnavailable) as e:
        limiter.check("k", policy="p")
    assert e.value.code == "store_unavailable"
    with pytest.raises(authgate.StoreUnavailable):
        store.ping()
    assert time.monotonic() - started < 3
    limiter.failure_mode = "open"
    d = limiter.check("k", policy="p")
    assert d.allowed and d.degraded and d.headers == {}
    limiter.failure_mode = "closed"
    private_redis.start()
    d = limiter.check("k", policy="p")
    assert d.allowed and not d.degraded and d.remaining == 2


async def ticks_while_paused(server: PrivateRedis, call: Awaitable[Any]) -> tuple[int, float]:
    """Pauses the server for 0.4 s and awaits `call`: how often a 10 ms ticker ran meanwhile
    (it runs only if the event loop is free), and how long the call waited."""
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    task = asyncio.create_task(ticker())
    assert server.command("CLIENT", "PAUSE", "400", "ALL").startswith(b"+OK")
    started = time.monotonic()
    await call
    waited = time.monotonic() - started
    task.cancel()
    return ticks, waited


def test_a_slow_redis_does_not_block_the_event_loop(private_redis: PrivateRedis) -> None:
    limiter = AsyncRateLimiter(authgate.RateLimiter(authgate.RedisStore(private_redis.url)))

    async def main() -> tuple[int, float]:
        await limiter.check("warm")  # connect first, so the pause below is all the wait
        return await ticks_while_paused(private_redis, limiter.check("k"))

    ticks, waited = asyncio.run(main())
    assert waited >= 0.3, "the check waited for the paused server"
    assert ticks >= 10, f"the loop ran only {ticks} ticks while Redis was paused"


def test_redis_store_arguments_are_checked() -> None:
    with pytest.raises(authgate.InvalidInput):
        authgate.RedisStore("http://localhost")
    with pytest.raises(authgate.InvalidInput):
        authgate.RedisStore("redis://localhost", timeout=0)
    with pytest.raises(authgate.InvalidInput):
        authgate.RateLimiter(failure_mode="sometimes")
    with pytest.raises(TypeError):
        authgate.RateLimiter("redis://localhost")  # type: ignore[arg-type]
    store = authgate.RedisStore("redis://:hunter2@localhost:1", prefix="app:")
    assert store.prefix == "app:" and "hunter2" not in repr(store)


def test_the_gate_offloads_checks_when_its_store_is_redis(private_redis: PrivateRedis) -> None:
    from authgate.asgi import AuthMiddleware
    from authgate.web import Gate

    memory_gate = Gate(limiter=authgate.RateLimiter())
    assert not memory_gate.offload
    limiter = authgate.RateLimiter(authgate.RedisStore(private_redis.url))
    gate = Gate(limiter=limiter)
    assert gate.offload and limiter.remote_store

    async def ok(scope: dict[str, object], receive: object, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    app = AuthMiddleware(ok, gate)

    async def main() -> tuple[int, int, float]:
        sent: list[dict[str, Any]] = []

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b""}

        scope = {"type": "http", "path": "/", "headers": [], "client": ("203.0.113.7", 1234)}
        await app(scope, receive, send)  # connects first
        ticks, waited = await ticks_while_paused(private_redis, app(scope, receive, send))
        return sent[-2]["status"], ticks, waited

    status, ticks, waited = asyncio.run(main())
    assert status == 200 and waited >= 0.3
    assert ticks >= 10, f"the loop ran only {ticks} ticks while Redis was paused"
