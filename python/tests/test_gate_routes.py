"""Limits users of slowapi expect, through the gate: a route's own limit and scopes (FastAPI
dependency, Flask and Django decorators), a limit per user, an API key's own policy, and
buckets per app that survive rolling the key. All decisions are the core's."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from servers import asgi_server, wsgi_server

import authgate
from authgate.web import Gate

SECRET = b"route-tests-hs256-secret-0123456789abcdef"
NOW = 1_700_000_000


def token(**claims: Any) -> str:
    keys = authgate.KeySet([authgate.Key.hmac(SECRET, "HS256")])
    return keys.sign({"sub": "alice", "exp": 4_102_444_800, **claims})


def gate(**options: Any) -> Gate:
    limiter = authgate.RateLimiter(clock=authgate.ManualClock(NOW))
    return Gate(keys=authgate.KeySet([authgate.Key.hmac(SECRET, "HS256")]), limiter=limiter, **options)


def statuses(base: str, path: str, headers: dict[str, str], n: int) -> list[int]:
    return [httpx.post(f"{base}{path}", headers=headers).status_code for _ in range(n)]


def test_a_routes_own_limit_and_scopes_with_fastapi() -> None:
    from fastapi import Depends, FastAPI

    from authgate.asgi import install_error_handlers, require_auth

    g = gate()
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/login")
    def login(auth: Any = Depends(require_auth(g, limit="2/minute"))) -> dict[str, bool]:
        return {"ok": True}

    @app.post("/other")
    def other(auth: Any = Depends(require_auth(g))) -> dict[str, bool]:
        return {"ok": True}

    @app.post("/admin")
    def admin(auth: Any = Depends(require_auth(g, scopes=["admin"]))) -> dict[str, bool]:
        return {"ok": True}

    alice = {"authorization": f"Bearer {token(scope='read')}"}
    bob = {"authorization": f"Bearer {token(sub='bob')}"}
    with asgi_server(app) as base:
        assert statuses(base, "/login", alice, 3) == [200, 200, 429]
        r = httpx.post(f"{base}/login", headers=alice)
        assert r.headers["retry-after"] in ("29", "30")  # a real clock: 30 s less the time taken
        assert r.headers["ratelimit-policy"] == '"2/minute";q=2;w=60'
        assert r.json()["error"] == "rate_limited"
        # Per user and per route: bob has his own bucket, alice's other routes are open.
        assert statuses(base, "/login", bob, 1) == [200]
        assert statuses(base, "/other", alice, 1) == [200]
        r = httpx.post(f"{base}/admin", headers=alice)
        assert (r.status_code, r.json()["error"]) == (403, "insufficient_scope")
        admin_token = {"authorization": f"Bearer {token(scope='admin')}"}
        assert statuses(base, "/admin", admin_token, 1) == [200]


def test_a_routes_own_limit_with_flask_and_django() -> None:
    from flask import Flask

    from authgate.flask import AuthGate, require_auth

    g = gate()
    app = Flask("routes")
    AuthGate(app, protect_all=False)

    @app.post("/login")
    @require_auth(g, limit="1/minute")
    def login() -> dict[str, bool]:
        return {"ok": True}

    alice = {"authorization": f"Bearer {token()}"}
    with wsgi_server(app) as base:
        assert statuses(base, "/login", alice, 2) == [200, 429]

    from authgate.django import require_auth as django_require

    view = django_require(g, limit="1/minute", name="django login")(lambda request: None)
    assert callable(view)
    # An unknown policy name that is no policy text is refused when the route is declared.
    with pytest.raises(authgate.InvalidInput):
        django_require(g, limit="gold")(lambda request: None)


def test_limits_per_user_per_app_and_the_keys_own_policy() -> None:
    store = authgate.MemoryStore()
    clock = authgate.ManualClock(NOW)
    limiter = authgate.RateLimiter(store, clock=clock)
    limiter.set_policy("default", authgate.RatePolicy.parse("2/minute"))
    limiter.set_policy("gold", authgate.RatePolicy.parse("4/minute"))
    manager = authgate.ApiKeyManager(store=store, clock=clock)
    g = Gate(api_keys=manager, limiter=limiter)

    def check(key: str) -> int:
        try:
            g.authenticate({"x-api-key": key}.get, "192.0.2.1")
            return 200
        except authgate.AuthError as error:
            return g.error_response(error)[0]

    old, record = manager.create()
    assert [check(old), check(old)] == [200, 200]
    # Rolling the key does not refill the app's bucket.
    new, rolled = manager.roll(record.id, grace=3600)
    assert rolled.app == record.id != rolled.id
    assert check(new) == 429
    gold, _ = manager.create(rate_limit_policy="gold")
    assert [check(gold) for _ in range(5)] == [200, 200, 200, 200, 429]

    users = Gate(
        keys=authgate.KeySet([authgate.Key.hmac(SECRET, "HS256")]),
        limiter=limiter,
        user_rate_policy="default",
        client_rate_policy=None,
    )
    alice = f"Bearer {token()}"
    codes = []
    for peer in ("192.0.2.10", "192.0.2.11", "192.0.2.12"):  # one user, three addresses
        try:
            context = users.authenticate({"authorization": alice}.get, peer)
            codes.append(context.identity)
        except authgate.RateLimited as error:
            codes.append(json.loads(users.error_response(error)[2])["error"])
    assert codes == ["user:alice", "user:alice", "rate_limited"]


def test_an_app_wide_gate_and_a_route_rule_run_the_pipeline_once() -> None:
    """The README's setup — the extension on every route and a route's own limit — checks
    the credentials once: one credit per request, one count per bucket, and a DPoP proof
    used once (a second run would see its jti as a replay)."""
    from flask import Flask

    from authgate.flask import AuthGate, require_auth

    device = authgate.Key.from_pem(authgate.Key.generate_pem("ES256"), "ES256")
    jwk = device.public_jwk()
    assert jwk is not None
    bound = token(cnf={"jkt": authgate.jwk_thumbprint(jwk)})
    store = authgate.MemoryStore()
    manager = authgate.ApiKeyManager(store=store)
    api_key, record = manager.create(credits=10)
    g = Gate(
        keys=authgate.KeySet([authgate.Key.hmac(SECRET, "HS256")]),
        api_keys=manager,
        limiter=authgate.RateLimiter(store),
        dpop=authgate.DpopVerifier(store=store),
    )
    app = Flask("once")
    AuthGate(app, g)

    @app.post("/login")
    @require_auth(g, limit="5/minute")
    def login() -> dict[str, bool]:
        return {"ok": True}

    with wsgi_server(app) as base:
        url = f"{base}/login"
        proof = authgate.create_dpop_proof(device, "POST", url, access_token=bound)
        r = httpx.post(url, headers={"x-api-key": api_key, "authorization": f"DPoP {bound}", "dpop": proof})
        assert r.status_code == 200, r.text
        assert r.headers["ratelimit"].startswith('"5/minute";r=4;')
    left = manager.get(record.id)
    assert left is not None and left.credits == 9


def test_require_auth_reads_every_forwarding_line_as_the_middleware_does() -> None:
    """A proxy that adds its own X-Forwarded-For line after the client's: the dependency and
    the middleware both read both lines, so a client cannot pick its address."""
    from fastapi import Depends, FastAPI
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from authgate.asgi import AuthMiddleware, install_error_handlers, require_auth

    g = Gate(allowlist=authgate.IpAllowlist(["192.0.2.0/24"]), client_ip=authgate.ClientIpResolver(["127.0.0.1/32"]))
    api = FastAPI()
    install_error_handlers(api)

    @api.get("/x")
    def x(auth: Any = Depends(require_auth(g))) -> dict[str, bool]:
        return {"ok": True}

    async def ok(request: Any) -> JSONResponse:
        return JSONResponse({"ok": True})

    plain = AuthMiddleware(Starlette(routes=[Route("/x", ok)]), g)
    forged = [(b"x-forwarded-for", b"192.0.2.7"), (b"x-forwarded-for", b"203.0.113.9")]
    for app in (api, plain):
        with asgi_server(app) as base:
            r = httpx.get(f"{base}/x", headers=forged)
            assert (r.status_code, r.json()["error"]) == (403, "ip_not_allowed")
            assert httpx.get(f"{base}/x", headers=[(b"x-forwarded-for", b"192.0.2.7")]).status_code == 200
