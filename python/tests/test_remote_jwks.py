"""RemoteJwks against the local HTTPS test server (private CA): an identity provider that
rotates its keys, answers slowly, fails and returns garbage; sync, threads and asyncio."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from https_server import HttpsServer

import authgate
import authgate.web
from authgate.aio import AsyncRemoteJwks

NOW = 1_700_000_000
JWKS = "/jwks.json"


class Provider:
    """An identity provider's signing key: signs tokens, publishes its public half."""

    def __init__(self, kid: str) -> None:
        self.keys = authgate.KeySet([authgate.Key.from_pem(authgate.Key.generate_pem("ES256"), "ES256", kid=kid)])
        self.keys.activate(kid)

    def token(self, iss: str = "https://idp.example", **claims: Any) -> str:
        return self.keys.sign({"iss": iss, "sub": "alice", "aud": "api", "exp": NOW + 3600, **claims})


def jwks(*providers: Provider) -> str:
    return json.dumps({"keys": [k for p in providers for k in p.keys.jwks()["keys"]]})


@pytest.fixture
def server() -> Iterator[HttpsServer]:
    with HttpsServer() as s:
        yield s


def client(server: HttpsServer, clock: authgate.ManualClock, **kwargs: Any) -> authgate.RemoteJwks:
    kwargs.setdefault("timeout", 0.8)
    return authgate.RemoteJwks(server.url(JWKS), ca_cert_pem=server.ca, clock=clock, **kwargs)


def test_verifies_and_caches_for_the_ttl(server: HttpsServer) -> None:
    a = Provider("a")
    server.set(JWKS, jwks(a))
    clock = authgate.ManualClock(NOW)
    c = client(server, clock, ttl=timedelta(minutes=5))
    for _ in range(3):
        assert c.verify(a.token(), issuer="https://idp.example", audience="api", now=NOW)["sub"] == "alice"
    assert server.hits(JWKS) == 1
    clock.advance(300)
    c.verify(a.token(), audience="api", now=NOW)
    assert server.hits(JWKS) == 2
    status = c.status()
    assert (status["kids"], status["stale"], status["fetches"], status["last_error"]) == (["a"], False, 2, None)
    assert status["jwks_uri"] == server.url(JWKS)
    assert c.key_set().list() == [("a", "ES256", "verify_only")]
    with pytest.raises(authgate.InvalidAudience):
        c.verify(a.token(aud="other"), audience="api", now=NOW)
    # #20 item 8: a provider signs for many APIs, so its keys verify for a named audience,
    # or with the named opt-out; forgetting both is a configuration error, not an admit.
    with pytest.raises(authgate.InvalidInput, match="audience"):
        c.verify(a.token(), now=NOW)
    assert c.verify(a.token(aud="other"), accept_any_audience=True, now=NOW)["aud"] == "other"
    with pytest.raises(ValueError, match="audience"):
        authgate.web.Gate(keys=c, issuer="https://idp.example")
    authgate.web.Gate(keys=c, audience="api")


def test_rotation_refetches_once_and_unknown_kids_cannot_hammer(server: HttpsServer) -> None:
    a, b, forger = Provider("a"), Provider("b"), Provider("zzz")
    server.set(JWKS, jwks(a))
    clock = authgate.ManualClock(NOW)
    c = client(server, clock)
    c.verify(a.token(), audience="api", now=NOW)
    clock.advance(30)
    server.set(JWKS, jwks(b))
    assert c.verify(b.token(), audience="api", now=NOW)["sub"] == "alice"
    assert server.hits(JWKS) == 2
    with pytest.raises(authgate.KeyNotFound):
        c.verify(a.token(), audience="api", now=NOW)
    for _ in range(100):
        with pytest.raises(authgate.KeyNotFound):
            c.verify(forger.token(), audience="api", now=NOW)
    assert server.hits(JWKS) == 2


def test_a_failing_provider_keeps_the_good_set_and_serves_it_stale(server: HttpsServer) -> None:
    a = Provider("a")
    server.set(JWKS, jwks(a))
    clock = authgate.ManualClock(NOW)
    c = client(server, clock, max_stale=3600)
    c.verify(a.token(), audience="api", now=NOW)
    for body, status in [("boom", 500), ("<html>", 200), ('{"keys": []}', 200), ("", 0), ('{"keys": [', 200)]:
        clock.advance(601)
        server.set(JWKS, body, status)
        assert c.verify(a.token(), audience="api", now=NOW)["sub"] == "alice"
        st = c.status()
        assert st["stale"] and st["kids"] == ["a"]
        assert isinstance(st["last_error"], authgate.KeySetUnavailable)
        with pytest.raises(authgate.KeySetUnavailable):
            c.refresh()
        server.set(JWKS, jwks(a))
        clock.advance(31)
        assert c.refresh() == ["a"]
    server.set(JWKS, "", 503)
    clock.advance(600 + 3600)
    with pytest.raises(authgate.KeySetUnavailable) as info:
        c.verify(a.token(), audience="api", now=NOW)
    assert "HTTP 503" in str(info.value)
    assert info.value.code == "key_set_unavailable"


def test_a_slow_provider_times_out_without_holding_the_gil(server: HttpsServer) -> None:
    a = Provider("a")
    server.set(JWKS, jwks(a), delay_ms=3000)
    c = client(server, authgate.ManualClock(NOW), timeout=0.5)
    ticks = 0
    done = threading.Event()

    def tick() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            time.sleep(0.01)

    ticker = threading.Thread(target=tick)
    ticker.start()
    started = time.monotonic()
    try:
        with pytest.raises(authgate.KeySetUnavailable, match="no answer within"):
            c.verify(a.token(), audience="api", now=NOW)
    finally:
        done.set()
        ticker.join()
    assert time.monotonic() - started < 2.5
    assert ticks >= 20, "the fetch held the GIL"


def test_tls_and_urls_are_checked(server: HttpsServer) -> None:
    server.set(JWKS, jwks(Provider("a")))
    untrusting = authgate.RemoteJwks(server.url(JWKS))
    with pytest.raises(authgate.KeySetUnavailable):
        untrusting.refresh()
    assert server.hits(JWKS) == 0
    for url in ["http://127.0.0.1/jwks", "file:///etc/passwd", "https://idp/ x", "x" * 3000]:
        with pytest.raises(authgate.InvalidInput):
            authgate.RemoteJwks(url)
    with pytest.raises(authgate.InvalidInput):
        authgate.RemoteJwks(server.url(JWKS), ca_cert_pem="not a certificate")
    with pytest.raises(ValueError):
        authgate.RemoteJwks(server.url(JWKS), timeout=0)
    with pytest.raises(TypeError):
        authgate.RemoteJwks(server.url(JWKS), ttl="ten")  # type: ignore[arg-type]


def test_discovery_binds_the_issuer(server: HttpsServer) -> None:
    a = Provider("a")
    issuer = server.url("/realms/main")
    server.set(
        "/realms/main/.well-known/openid-configuration",
        json.dumps({"issuer": issuer, "jwks_uri": server.url("/realms/main/certs")}),
    )
    server.set("/realms/main/certs", jwks(a))
    c = authgate.RemoteJwks.discover(issuer, ca_cert_pem=server.ca)
    assert c.verify(a.token(iss=issuer), audience="api", now=NOW)["iss"] == issuer
    with pytest.raises(authgate.InvalidIssuer):
        c.verify(a.token(iss="https://elsewhere.example"), audience="api", now=NOW)
    # Issuers given to verify replace the discovered one.
    assert c.verify(a.token(iss="https://alias.example"), issuer="https://alias.example", audience="api", now=NOW)
    st = c.status()
    assert (st["issuer"], st["jwks_uri"]) == (issuer, server.url("/realms/main/certs"))


def test_asyncio_verify_keeps_the_loop_running(server: HttpsServer) -> None:
    a = Provider("a")
    server.set(JWKS, jwks(a), delay_ms=400)

    async def main() -> tuple[int, dict[str, Any], list[str]]:
        c = AsyncRemoteJwks(client(server, authgate.ManualClock(NOW), timeout=2))
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        ticker = asyncio.create_task(tick())
        claims = await c.verify(a.token(), audience="api", now=NOW)
        kids = await c.refresh()
        ticker.cancel()
        return ticks, claims, kids

    ticks, claims, kids = asyncio.run(main())
    assert claims["sub"] == "alice" and kids == ["a"]
    assert ticks >= 40, f"the event loop ticked only {ticks} times during two 0.4 s fetches"
