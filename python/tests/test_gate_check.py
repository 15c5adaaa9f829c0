"""``Gate.check`` returns a refusal (``GateRefusal``) where ``Gate.authenticate`` raises it:
the same response bytes, the same error when read, the same decision on a 429."""

from __future__ import annotations

import time
from typing import Any, Optional

import pytest

import authgate
from authgate.web import Gate

SECRET = b"gate-check-test-hs256-secret-0123456789"


def world(app_limit: str = "1000/minute") -> tuple[Gate, dict[str, str], str]:
    keys = authgate.KeySet([authgate.Key.hmac(SECRET)])
    api_keys = authgate.ApiKeyManager()
    api_key, _ = api_keys.create(scopes=["orders"])
    limiter = authgate.RateLimiter(clock=authgate.ManualClock(1_700_000_000))
    limiter.set_policy("per_client", "1000/minute")
    limiter.set_policy("apps", app_limit)
    gate = Gate(
        keys=keys, issuer="iss", audience="aud", api_keys=api_keys, limiter=limiter, rate_policy="apps", realm="api"
    )
    now = int(time.time())
    token = keys.sign({"iss": "iss", "aud": "aud", "sub": "u1", "exp": now + 3600, "iat": now})
    return gate, {"authorization": f"Bearer {token}", "x-api-key": api_key}, api_key


def refusals(headers: dict[str, str], api_key: str) -> list[tuple[str, dict[str, str]]]:
    typo = api_key[:-1] + ("b" if api_key[-1] == "a" else "a")
    return [
        ("no credentials", {}),
        ("unknown API key", {**headers, "x-api-key": typo}),
        ("forged token", {**headers, "authorization": headers["authorization"][:-4] + "AAAA"}),
        ("not a bearer token", {**headers, "authorization": "Basic dXNlcjpwYXNz"}),
        ("a header with a control character", {**headers, "authorization": "Bearer a\x01b"}),
    ]


def raised(gate: Gate, headers: dict[str, str]) -> authgate.AuthError:
    with pytest.raises(authgate.AuthError) as info:
        gate.authenticate(headers.get, "192.0.2.7", method="GET", url="http://localhost/x")
    return info.value


def same_error(a: BaseException, b: BaseException) -> None:
    assert type(a) is type(b)
    for name in ("code", "retry_after", "response"):
        assert getattr(a, name) == getattr(b, name), name
    assert str(a) == str(b)


@pytest.mark.parametrize("what", [r[0] for r in refusals({"authorization": "Bearer x.y.z"}, "k" * 8)])
def test_a_refusal_is_returned_with_what_authenticate_raises(what: str) -> None:
    gate, headers, api_key = world()
    request = dict(refusals(headers, api_key))[what]
    got = gate.check(request.get, "192.0.2.7", method="GET", url="http://localhost/x")
    assert isinstance(got, authgate.GateRefusal)
    error = raised(gate, request)
    assert got.response == error.response  # type: ignore[attr-defined]
    assert (got.status, got.headers, got.body) == error.response  # type: ignore[attr-defined]
    assert got.code == error.code
    assert got.message == str(error)
    assert got.retry_after == error.retry_after
    assert got.rate_limit is None
    same_error(got.error, error)
    assert got.error is not got.error  # a new exception on each read
    assert repr(got) == f"GateRefusal(status={got.status}, code='{got.code}')"


def test_an_admitted_request_is_its_context() -> None:
    gate, headers, _ = world()
    got = gate.check(headers.get, "192.0.2.7")
    assert isinstance(got, authgate.AuthContext)
    assert got.claims is not None and got.claims["sub"] == "u1"
    assert got.api_key is not None


def test_a_429_carries_its_decision() -> None:
    gate, headers, _ = world("2/minute")
    for _ in range(2):
        assert isinstance(gate.check(headers.get, "192.0.2.7"), authgate.AuthContext)
    got: Any = gate.check(headers.get, "192.0.2.7")
    assert isinstance(got, authgate.GateRefusal)
    assert (got.status, got.code) == (429, "rate_limited")
    assert got.retry_after == 30
    assert got.rate_limit is not None and got.rate_limit.remaining == 0
    error = raised(gate, headers)  # the same client, refused again at the same instant
    assert got.response == error.response  # type: ignore[attr-defined]
    assert got.rate_limit.retry_after_ms == error.rate_limit.retry_after_ms  # type: ignore[attr-defined]
    same_error(got.error, error)
    assert got.error.rate_limit is not None
    assert dict(got.headers)["retry-after"] == "30"


def test_dpop_through_check_as_through_authenticate() -> None:
    # A DPoP-bound token: admitted with its proof, refused without it, with a replayed proof
    # and with a proof for another URL; each refusal the same as authenticate's.
    keys = authgate.KeySet([authgate.Key.hmac(SECRET)])
    device = authgate.Key.from_pem(authgate.Key.generate_pem("ES256"), "ES256")
    jwk = device.public_jwk()
    assert jwk is not None
    now = int(time.time())
    bound = keys.sign({"sub": "u1", "exp": now + 600, "iat": now, "cnf": {"jkt": authgate.jwk_thumbprint(jwk)}})

    def gate() -> Gate:
        return Gate(keys=keys, dpop=authgate.DpopVerifier(store=authgate.MemoryStore()))

    url = "http://localhost/orders"

    def request(proof: Optional[str]) -> dict[str, str]:
        headers = {"authorization": f"DPoP {bound}"}
        if proof is not None:
            headers["dpop"] = proof
        return headers

    proof = authgate.create_dpop_proof(device, "POST", url, access_token=bound)
    checking, raising = gate(), gate()
    assert isinstance(checking.check(request(proof).get, None, method="POST", url=url), authgate.AuthContext)
    raising.authenticate(request(proof).get, None, method="POST", url=url)
    elsewhere = authgate.create_dpop_proof(device, "POST", url + "/x", access_token=bound)
    for headers in (request(None), request(proof), request(elsewhere)):  # none, replayed, wrong URL
        got = checking.check(headers.get, None, method="POST", url=url)
        assert isinstance(got, authgate.GateRefusal)
        with pytest.raises(authgate.AuthError) as info:
            raising.authenticate(headers.get, None, method="POST", url=url)
        assert got.response == info.value.response  # type: ignore[attr-defined]
        same_error(got.error, info.value)
