"""The Gate's IP allowlist, client address behind proxies and rate limit, through the ASGI
middleware, the FastAPI dependency and the WSGI middleware on real servers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from servers import asgi_server, wsgi_server
from test_frameworks import World, fastapi_app, flask_app, starlette_app

import authgate
from authgate.web import Gate

SERVERS: list[tuple[str, Callable[[World], Any], Any]] = [
    ("starlette middleware", starlette_app, asgi_server),
    ("fastapi dependency", fastapi_app, asgi_server),
    ("wsgi middleware (flask)", flask_app, wsgi_server),
]


def error_of(r: httpx.Response) -> str:
    body = r.json()
    return body.get("detail", body)["error"]


@pytest.mark.parametrize("name,make_app,serve", SERVERS, ids=[s[0] for s in SERVERS])
def test_rate_limit_per_api_key_with_headers(name: str, make_app: Any, serve: Any) -> None:
    world = World()
    limiter = authgate.RateLimiter(clock=world.clock)
    limiter.set_policy("default", "3/minute")
    world.gate = Gate(keys=world.sessions, api_keys=world.api_keys, limiter=limiter, realm="api")
    with serve(make_app(world)) as base, httpx.Client(base_url=base) as client:
        for remaining in (2, 1, 0):
            r = client.get("/me", headers=world.headers())
            assert r.status_code == 200, r.text
            # t: until the bucket is full while some are left; with none left, until the next one.
            t = 20 * (3 - remaining) if remaining else 20
            assert r.headers["ratelimit"] == f'"default";r={remaining};t={t}'
            assert r.headers["ratelimit-policy"] == '"default";q=3;w=60'
        r = client.get("/me", headers=world.headers())
        assert r.status_code == 429 and error_of(r) == "rate_limited"
        assert r.headers["retry-after"] == "20"
        assert r.headers["ratelimit"] == '"default";r=0;t=20'
        assert r.headers["x-ratelimit-remaining"] == "0"
        assert "www-authenticate" not in r.headers
        world.clock.advance(20)
        assert client.get("/me", headers=world.headers()).status_code == 200
        # Another API key has its own bucket.
        other, _ = world.api_keys.create(scopes=["orders:*"])
        r = client.get("/me", headers={**world.headers(), "x-api-key": other})
        assert r.status_code == 200 and r.headers["x-ratelimit-remaining"] == "2"


@pytest.mark.parametrize("name,make_app,serve", SERVERS, ids=[s[0] for s in SERVERS])
def test_allowlist_and_client_ip_behind_a_trusted_proxy(name: str, make_app: Any, serve: Any) -> None:
    world = World()
    # The test client connects from 127.0.0.1, which plays the trusted proxy.
    world.gate = Gate(
        keys=world.sessions,
        api_keys=world.api_keys,
        allowlist=authgate.IpAllowlist(["10.0.0.0/8"]),
        client_ip=authgate.ClientIpResolver(["127.0.0.0/8"]),
    )
    with serve(make_app(world)) as base, httpx.Client(base_url=base) as client:
        token = world.headers()
        r = client.get("/me", headers=token)
        assert r.status_code == 403 and error_of(r) == "ip_not_allowed"
        assert "www-authenticate" not in r.headers
        assert client.get("/me", headers={**token, "x-forwarded-for": "10.1.2.3"}).status_code == 200
        spoofed = client.get("/me", headers={**token, "x-forwarded-for": "10.9.9.9, 203.0.113.5"})
        assert spoofed.status_code == 403 and error_of(spoofed) == "ip_not_allowed"


def test_rate_limit_by_address_without_credentials() -> None:
    world = World()
    limiter = authgate.RateLimiter(clock=world.clock)
    limiter.set_policy("anon", "2/hour")
    gate = Gate(limiter=limiter, rate_policy="anon", client_ip=authgate.ClientIpResolver(["127.0.0.0/8"]))
    assert gate.authenticate(lambda _: "198.51.100.7", "127.0.0.1").client_ip == "198.51.100.7"
    context = gate.authenticate(lambda _: "198.51.100.7", "127.0.0.1")
    assert context.rate_limit is not None and context.rate_limit.remaining == 0
    with pytest.raises(authgate.RateLimited) as info:
        gate.authenticate(lambda _: "198.51.100.7", "127.0.0.1")
    status, headers, _ = gate.error_response(info.value)
    assert status == 429 and ("retry-after", "1800") in headers
    assert gate.authenticate(lambda _: "198.51.100.8", "127.0.0.1").rate_limit is not None


@pytest.mark.parametrize("name,make_app,serve", SERVERS, ids=[s[0] for s in SERVERS])
def test_forged_credentials_are_metered_per_address_before_any_check(name: str, make_app: Any, serve: Any) -> None:
    """A flood of forged tokens and unknown API keys from one address is counted (each
    would cost a signature check or a store round trip): per_client runs first."""
    world = World()
    limiter = authgate.RateLimiter(clock=world.clock)
    assert limiter.policy(authgate.CLIENT_RATE_POLICY) == authgate.RatePolicy(600, 60)
    limiter.set_policy(authgate.CLIENT_RATE_POLICY, "5/minute")
    world.gate = Gate(keys=world.sessions, api_keys=world.api_keys, limiter=limiter)
    forged = {"x-api-key": world.key, "authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.e30.AAAA"}
    unknown = {"x-api-key": world.key[:-1] + ("y" if world.key.endswith("x") else "x")}
    with serve(make_app(world)) as base, httpx.Client(base_url=base) as client:
        statuses = [client.get("/me", headers=forged if i % 2 else unknown).status_code for i in range(5)]
        assert statuses == [401] * 5
        r = client.get("/me", headers=forged)
        assert r.status_code == 429 and error_of(r) == "rate_limited"
        assert r.headers["retry-after"] == "12" and r.headers["ratelimit-policy"] == '"per_client";q=5;w=60'
        # Valid credentials from the same address wait too: the address is over its limit.
        assert client.get("/me", headers=world.headers()).status_code == 429
        world.clock.advance(12)
        assert client.get("/me", headers=world.headers()).status_code == 200
    # Off when asked.
    gate = Gate(keys=world.sessions, limiter=limiter, client_rate_policy=None)
    for _ in range(10):
        with pytest.raises(authgate.MissingToken):
            gate.authenticate(lambda _: None, "192.0.2.1")
