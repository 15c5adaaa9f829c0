"""A whole request through the gate — API key + HS256 Bearer token + rate limit — beside
what a user writes with PyJWT and limits (the key looked up by its SHA-256, the token
verified with issuer and audience, one moving-window hit per app), in one run. Also the
gate's refusals: an unknown API key and a forged token. Writes its table into
docs/benchmarks.md; run by `make bench`."""

from __future__ import annotations

import hashlib
import hmac
import sys
import time
from importlib.metadata import version
from typing import Optional

import jwt
import limits
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

import authgate
from authgate.web import Gate
from bench import fmt, measure, write_section

BEGIN, END = "<!-- BEGIN PYTHON GATE (make bench) -->", "<!-- END PYTHON GATE -->"
SECRET = b"gate-bench-hs256-secret-0123456789abcdef"
ISS, AUD = "https://auth.example.com", "api"


def main() -> None:
    now = int(time.time())
    claims = {"iss": ISS, "aud": AUD, "sub": "user-1", "iat": now, "exp": now + 3600, "scope": "read write"}
    keys = authgate.KeySet([authgate.Key.hmac(SECRET)])
    token = keys.sign(claims)
    api_keys = authgate.ApiKeyManager()
    api_key, record = api_keys.create(scopes=["orders"])
    limiter = authgate.RateLimiter()
    limiter.set_policy("default", "1000000000/minute")
    gate = Gate(keys=keys, issuer=ISS, audience=AUD, api_keys=api_keys, limiter=limiter, client_rate_policy=None)
    headers = {"authorization": f"Bearer {token}", "x-api-key": api_key}

    # The glue: keys by their SHA-256 in a dict, PyJWT, limits' moving window.
    table = {hashlib.sha256(api_key.encode()).digest(): record.id}
    strategy = MovingWindowRateLimiter(MemoryStorage())
    item = limits.parse("1000000000/minute")

    def glue(h: dict[str, str]) -> Optional[str]:
        presented = h.get("x-api-key")
        if not presented:
            return "missing_api_key"
        digest = hashlib.sha256(presented.encode()).digest()
        app = next((v for k, v in table.items() if hmac.compare_digest(k, digest)), None)
        if app is None:
            return "invalid_api_key"
        scheme, _, tok = h.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return "malformed_token"
        try:
            jwt.decode(tok, SECRET, algorithms=["HS256"], issuer=ISS, audience=AUD)
        except jwt.InvalidTokenError:
            return "invalid_token"
        if not strategy.hit(item, "app", app):
            return "rate_limited"
        return None

    def ours(h: dict[str, str]) -> Optional[str]:
        try:
            gate.authenticate(h.get, "192.0.2.1")
            return None
        except authgate.AuthError as error:
            return error.code

    def ours_check(h: dict[str, str]) -> Optional[str]:
        # What the ASGI and WSGI middleware do: `check`, and a refusal's response read.
        outcome = gate.check(h.get, "192.0.2.1")
        if isinstance(outcome, authgate.GateRefusal):
            _ = outcome.response
            return outcome.code
        return None

    forged = {**headers, "authorization": f"Bearer {token[:-4]}AAAA"}
    unknown = {**headers, "x-api-key": api_key[:-1] + ("b" if api_key[-1] == "a" else "a")}
    for h, want in ((headers, None), (forged, "invalid_signature"), (unknown, "invalid_api_key")):
        assert ours(h) == want, (ours(h), want)
        assert ours_check(h) == want, (ours_check(h), want)
        assert (glue(h) is None) == (want is None)

    rows: list[tuple[str, float, float]] = []
    for name, h, run in (
        ("admitted: API key + HS256 Bearer + limit", headers, ours),
        ("refused: forged token, `authenticate` (raises)", forged, ours),
        ("refused: forged token, `check` (returns the refusal)", forged, ours_check),
        ("refused: unknown API key, `authenticate` (raises)", unknown, ours),
        ("refused: unknown API key, `check` (returns the refusal)", unknown, ours_check),
    ):
        rows.append((name, measure(lambda: run(h)), measure(lambda: glue(h))))

    lines = [
        BEGIN,
        "",
        f"Python {sys.version.split()[0]}; authgate {authgate.__version__}, PyJWT {version('PyJWT')}, "
        f"limits {version('limits')}. Median of 5 rounds, one request at a time; the glue is what a user "
        "writes without authgate (key by SHA-256, `jwt.decode` with issuer and audience, a moving-window hit).",
        "",
        "| request | authgate `Gate` | PyJWT + limits glue | speed-up |",
        "|---|---|---|---|",
    ]
    for name, a, b in rows:
        lines.append(f"| {name} | {fmt(a)} | {fmt(b)} | {b / a:.1f}× |")
    lines += ["", END]
    write_section(lines, after="<!-- END PYTHON LIMITS -->")


if __name__ == "__main__":
    main()
