"""The framework integrations against real servers (uvicorn, wsgiref) and a real HTTP
client (httpx): API key and Bearer token together, JSON errors with the stable code and a
WWW-Authenticate challenge."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import Depends, FastAPI
from flask import Flask, request
from servers import asgi_server, wsgi_server
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

import authgate
from authgate.asgi import AuthMiddleware, install_error_handlers, require_auth
from authgate.web import AuthContext, Gate
from authgate.wsgi import AuthMiddleware as WSGIAuthMiddleware


class World:
    def __init__(self) -> None:
        self.clock = authgate.ManualClock(1_700_000_000)
        store = authgate.MemoryStore()
        keys = authgate.KeySet([authgate.Key.hmac(authgate.Key.generate_hmac_secret(), kid="k")])
        self.sessions = authgate.SessionManager(keys, issuer="https://auth.example", store=store, clock=self.clock)
        self.api_keys = authgate.ApiKeyManager(store=store, clock=self.clock)
        self.key, _ = self.api_keys.create(scopes=["orders:*"])
        self.token = self.sessions.login("alice", "phone", scope="read").tokens.access_token
        self.gate = Gate(keys=self.sessions, api_keys=self.api_keys, api_key_scope="orders:read", realm="api")

    def headers(self, key: bool = True, token: bool = True) -> dict[str, str]:
        out = {}
        if key:
            out["x-api-key"] = self.key
        if token:
            out["authorization"] = f"Bearer {self.token}"
        return out


@pytest.fixture
def world() -> World:
    return World()


def starlette_app(world: World) -> Any:
    async def me(request: Request) -> JSONResponse:
        auth: AuthContext = request.state.auth
        assert auth.claims is not None and auth.api_key is not None
        return JSONResponse({"sub": auth.claims["sub"], "key": auth.api_key.id})

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    app = Starlette(routes=[Route("/me", me), Route("/health", health)])
    return AuthMiddleware(app, world.gate, exclude_paths=["/health"])


def fastapi_app(world: World) -> FastAPI:
    app = FastAPI()

    @app.get("/me")
    def me(auth: AuthContext = Depends(require_auth(world.gate))) -> dict[str, Any]:
        assert auth.claims is not None
        return {"sub": auth.claims["sub"]}

    return app


def flask_app(world: World) -> Any:
    app = Flask(__name__)

    @app.get("/me")
    def me() -> dict[str, Any]:
        auth: AuthContext = request.environ["authgate.auth"]
        assert auth.claims is not None
        return {"sub": auth.claims["sub"]}

    app.wsgi_app = WSGIAuthMiddleware(app.wsgi_app, world.gate)  # type: ignore[method-assign]
    return app


# Tokens whose `alg` no HTTP stack could echo into a header: 17 characters (the error message
# truncated it with `…`), a snowman, a 40-character name. The challenge holds only fixed text,
# and the server keeps serving.
HOSTILE_ALGS = ["A" * 17, "\u2603", "B" * 40, "caf\u00e9"]


def check_hostile_tokens(client: httpx.Client, headers: dict[str, str]) -> None:
    import base64
    import json
    import re

    for alg in HOSTILE_ALGS:
        header = base64.urlsafe_b64encode(json.dumps({"alg": alg}).encode()).rstrip(b"=").decode()
        r = client.get("/me", headers={**headers, "authorization": f"Bearer {header}.e30.AAAA"})
        assert r.status_code == 401, (alg, r.status_code, r.text)
        challenge = r.headers["www-authenticate"]
        assert re.fullmatch(r'Bearer (realm="api", )?error="invalid_token", error_description="[a-z ]+"', challenge), (
            challenge
        )
        assert alg not in challenge


def check_refusals(base: str, world: World, error_of: Any) -> None:
    with httpx.Client(base_url=base) as client:
        check_hostile_tokens(client, world.headers(token=False))
        # Nothing sent: the API key is missing, which is no Bearer challenge.
        r = client.get("/me")
        assert r.status_code == 401 and error_of(r) == "missing_api_key"
        assert "www-authenticate" not in r.headers
        # No token: the challenge carries no error (RFC 6750 §3.1).
        r = client.get("/me", headers=world.headers(token=False))
        assert r.status_code == 401 and error_of(r) == "missing_token"
        assert r.headers["www-authenticate"] == 'Bearer realm="api"'
        r = client.get("/me", headers={**world.headers(), "authorization": "Bearer"})
        assert r.status_code == 401 and error_of(r) == "malformed_token"
        assert r.headers["www-authenticate"].startswith('Bearer realm="api", error="invalid_token"')
        r = client.get("/me", headers={**world.headers(), "authorization": "Basic dXNlcjpwdw=="})
        assert r.status_code == 401 and error_of(r) == "malformed_token"
        r = client.get(
            "/me", headers={**world.headers(), "x-api-key": world.key[:-1] + ("y" if world.key.endswith("x") else "x")}
        )
        assert r.status_code == 401 and error_of(r) == "invalid_api_key"
        r = client.get("/me", headers=world.headers())
        assert r.status_code == 200 and r.json()["sub"] == "alice"
        world.clock.advance(3600)
        r = client.get("/me", headers=world.headers())
        assert r.status_code == 401 and error_of(r) == "token_expired"
        assert 'error_description="token expired"' in r.headers["www-authenticate"]


def top_level_error(r: httpx.Response) -> str:
    body = r.json()
    assert set(body) == {"error", "message"}
    return str(body["error"])


def test_starlette_middleware(world: World) -> None:
    with asgi_server(starlette_app(world)) as base:
        check_refusals(base, world, top_level_error)
        assert httpx.get(f"{base}/health").json() == {"ok": True}


def test_fastapi_dependency(world: World) -> None:
    with asgi_server(fastapi_app(world)) as base:
        check_refusals(base, world, lambda r: r.json()["detail"]["error"])


def test_fastapi_with_the_error_handlers_answers_like_the_middleware(world: World) -> None:
    """install_error_handlers: the dependency's refusals, and AuthErrors raised inside a
    route, are the middleware's bytes — not {"detail": …}, not a 500."""
    app = fastapi_app(world)
    install_error_handlers(app, realm="api")
    totp = authgate.TotpManager(authgate.MemoryStore())

    @app.post("/code")
    def code() -> dict[str, Any]:
        totp.verify("alice", b"12345678901234567890", "000000x")  # raises InvalidCode
        return {}

    @app.get("/missing")
    def missing() -> dict[str, Any]:
        from fastapi import HTTPException

        raise HTTPException(404, "no such thing")

    with asgi_server(app) as dependency, asgi_server(starlette_app(world)) as middleware:
        check_refusals(dependency, world, top_level_error)
        for path in ("/me",):
            a = httpx.get(f"{dependency}{path}", headers=world.headers(token=False))
            b = httpx.get(f"{middleware}{path}", headers=world.headers(token=False))
            assert (a.status_code, a.content) == (b.status_code, b.content)
            assert a.headers["www-authenticate"] == b.headers["www-authenticate"]
        r = httpx.post(f"{dependency}/code")
        assert r.status_code == 401
        assert r.content == b'{"error":"invalid_code","message":"' + r.json()["message"].encode() + b'"}'
        assert "www-authenticate" not in r.headers
        r = httpx.get(f"{dependency}/missing")
        assert r.status_code == 404 and r.json() == {"detail": "no such thing"}


def test_api_key_scope_is_enforced(world: World) -> None:
    key, _ = world.api_keys.create(scopes=["billing:read"])
    with asgi_server(starlette_app(world)) as base:
        r = httpx.get(f"{base}/me", headers={**world.headers(), "x-api-key": key})
        assert r.status_code == 403 and r.json()["error"] == "insufficient_scope"
        assert 'error="insufficient_scope"' in r.headers["www-authenticate"]


def test_wsgi_middleware_with_flask(world: World) -> None:
    with wsgi_server(flask_app(world)) as base:
        check_refusals(base, world, top_level_error)


def test_revoked_session_is_refused_at_once_when_checked(world: World) -> None:
    keys = authgate.KeySet([authgate.Key.hmac(authgate.Key.generate_hmac_secret())])
    sessions = authgate.SessionManager(keys, check_session_on_verify=True)
    login = sessions.login("bob", "laptop")
    app = AuthMiddleware(starlette_app(world).app, Gate(keys=sessions))
    with asgi_server(app) as base:
        headers = {"authorization": f"Bearer {login.tokens.access_token}"}
        sessions.revoke_all("bob")
        r = httpx.get(f"{base}/me", headers=headers)
        assert r.status_code == 401 and r.json()["error"] == "session_revoked"


def test_gate_needs_a_credential() -> None:
    with pytest.raises(ValueError):
        Gate()


def test_an_identity_providers_tokens_through_the_asgi_middleware() -> None:
    import json
    import time

    from https_server import HttpsServer

    async def me(request: Request) -> JSONResponse:
        return JSONResponse({"sub": request.state.auth.claims["sub"]})

    with HttpsServer() as idp:
        keys = authgate.KeySet([authgate.Key.from_pem(authgate.Key.generate_pem("ES256"), "ES256", kid="k1")])
        keys.activate("k1")
        token = keys.sign({"iss": "https://idp.example", "sub": "alice", "aud": "api", "exp": int(time.time()) + 600})
        remote = authgate.RemoteJwks(idp.url("/jwks"), ca_cert_pem=idp.ca, timeout=1)
        gate = Gate(keys=remote, issuer="https://idp.example", audience="api")
        assert gate.offload, "a RemoteJwks may fetch: the middleware runs it off the event loop"
        app = AuthMiddleware(Starlette(routes=[Route("/me", me)]), gate)
        with asgi_server(app) as base:
            idp.set("/jwks", "", 503)
            r = httpx.get(f"{base}/me", headers={"authorization": f"Bearer {token}"})
            assert r.status_code == 503 and r.json()["error"] == "key_set_unavailable"
            idp.set("/jwks", json.dumps(keys.jwks()))
            remote.refresh()
            r = httpx.get(f"{base}/me", headers={"authorization": f"Bearer {token}"})
            assert r.status_code == 200 and r.json() == {"sub": "alice"}
            other = keys.sign({"iss": "https://idp.example", "sub": "x", "aud": "web", "exp": int(time.time()) + 600})
            r = httpx.get(f"{base}/me", headers={"authorization": f"Bearer {other}"})
            assert r.status_code == 401 and r.json()["error"] == "invalid_audience"
            # The offloaded gate (the setup one hostile request used to break): still serving.
            with httpx.Client(base_url=base) as client:
                check_hostile_tokens(client, {})
            assert httpx.get(f"{base}/me", headers={"authorization": f"Bearer {token}"}).status_code == 200
    with pytest.raises(ValueError):
        Gate(keys=authgate.SessionManager(keys), audience="api")
