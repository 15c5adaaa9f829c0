"""Typical use of authgate, type-checked with `mypy --strict` by test_typing.py."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import authgate


def issue_and_verify() -> dict[str, Any]:
    keys = authgate.KeySet([authgate.Key.from_pem(authgate.Key.generate_pem("EdDSA"), "EdDSA", kid="k1")])
    token: str = keys.sign({"sub": "alice", "exp": 4_000_000_000})
    claims: dict[str, Any] = keys.verify(
        token, audience=["api", "web"], leeway=timedelta(seconds=5), now=datetime.now(timezone.utc)
    )
    jwks: dict[str, Any] = keys.jwks()
    other = authgate.KeySet()
    kids: list[str] = other.import_jwks(jwks)
    assert kids == ["k1"]
    return claims


def sessions() -> int:
    keys = authgate.KeySet([authgate.Key.hmac(authgate.Key.generate_hmac_secret())])
    manager = authgate.SessionManager(keys, issuer="https://auth.example", access_ttl=timedelta(minutes=5))
    login: authgate.LoginResult = manager.login("alice", "phone", device_name="Alice's phone")
    pair: authgate.TokenPair = manager.refresh(login.tokens.refresh_token)
    try:
        manager.refresh(login.tokens.refresh_token)
    except authgate.RefreshTokenReused as e:
        code: str = e.code
        assert code == "refresh_token_reused"
    devices: list[authgate.SessionInfo] = manager.list("alice")
    assert pair.session_id and not devices
    return manager.revoke_all("alice")


def api_keys() -> str | None:
    manager = authgate.ApiKeyManager()
    plaintext, record = manager.create(scopes=["sms:*"], credits=10)
    checked: authgate.ApiKeyRecord = manager.verify(plaintext, "sms:send")
    new_key, _ = manager.roll(record.id, grace=timedelta(hours=1))
    assert authgate.parse_api_key(new_key).prefix == "ag_live_"
    return checked.rate_limit_policy


def client_tokens(server_key: str) -> bool:
    tokens = authgate.ClientTokens(server_key)
    token = tokens.mint("user-42", ttl=300)
    verified: authgate.ClientToken = tokens.verify(token, "user-42")
    return verified.exp > 0 and not authgate.needs_refresh(token)


def limits_and_passwords(peer: str, forwarded: str | None) -> dict[str, str]:
    limiter = authgate.RateLimiter(clock=authgate.ManualClock(datetime.now(timezone.utc)))
    limiter.set_policy("login", "5/minute")
    limiter.set_override("default", "big", authgate.RatePolicy(5000, timedelta(minutes=1), burst=500))
    decision: authgate.RateDecision = limiter.check("alice", policy="login", cost=1)
    wait: int | None = decision.retry_after
    client: str = authgate.ClientIpResolver(["10.0.0.0/8"], header="forwarded").resolve(peer, forwarded)
    allowed: bool = client in authgate.IpAllowlist(["192.0.2.0/24"])
    try:
        authgate.PasswordPolicy.nist(blocklist=["password"]).enforce("hunter2")
    except authgate.WeakPassword as e:
        broken: list[str] = e.violations
        assert broken
    phc: str = authgate.PasswordHasher(memory_kib=19456).hash("pw")
    assert authgate.PasswordHasher().verify("pw", phc) and allowed is not None and wait is None
    return decision.headers


async def redis_and_aio(url: str) -> bool:
    from authgate.aio import AsyncRateLimiter, AsyncSessionManager, AsyncWebhookVerifier

    store = authgate.RedisStore(url, prefix="app:", timeout=0.5, ca_cert=None)
    store.ping()
    limiter = authgate.RateLimiter(store, failure_mode="open")
    limiter.failure_mode = "closed"
    decision: authgate.RateDecision = await AsyncRateLimiter(limiter).check("k", policy="default")
    keys = authgate.KeySet([authgate.Key.hmac(b"0" * 32)])
    sessions = AsyncSessionManager(authgate.SessionManager(keys, store=store))
    login: authgate.LoginResult = await sessions.login("u", "d", device_name=None)
    pair: authgate.TokenPair = await sessions.refresh(login.tokens.refresh_token)
    listed: list[authgate.SessionInfo] = await sessions.list("u")
    hooks = AsyncWebhookVerifier(authgate.WebhookVerifier(["whsec_x"], store=store))
    verified: authgate.VerifiedWebhook = await hooks.verify({"webhook-id": "m"}, b"{}")
    return decision.degraded or bool(pair.access_token and listed and verified.id)


async def identity_providers(token: str, proof: str, cert: bytes) -> str:
    from datetime import timedelta

    from authgate.aio import AsyncDpopVerifier, AsyncRemoteJwks

    idp = authgate.RemoteJwks.discover("https://login.example.com/", ttl=timedelta(minutes=5), timeout=2.5)
    claims: dict[str, object] = await AsyncRemoteJwks(idp).verify(token, audience="api", leeway=5)
    last: authgate.AuthError | None = idp.status()["last_error"]
    dpop = authgate.DpopVerifier(max_age=60, store=authgate.MemoryStore())
    bound: authgate.DpopProof = await AsyncDpopVerifier(dpop).verify(proof, "GET", "https://api/x", access_token=token)
    authgate.check_certificate_binding({"cnf": {"x5t#S256": authgate.certificate_thumbprint(cert)}}, cert)
    key = authgate.Key.from_pem(authgate.Key.generate_pem("ES256"), "ES256")
    made: str = authgate.create_dpop_proof(key, "GET", "https://api/x", nonce=authgate.generate_dpop_nonce())
    return f"{claims} {last} {bound.jkt} {made}"
