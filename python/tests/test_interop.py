"""PyJWT and joserfc (libraries authgate did not write) verify authgate's tokens, and
authgate verifies theirs, for every algorithm both support."""

from __future__ import annotations

import time

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key
from joserfc import jwt as joserfc_jwt
from joserfc.jwk import ECKey, OKPKey, OctKey, RSAKey

import authgate

from conftest import TEST_KEYS

SECRET = b"0123456789abcdef0123456789abcdef"
PEMS = {
    "HS256": None,
    "RS256": ("rsa-private.pem", "rsa-public.pem"),
    "PS256": ("rsa-private.pem", "rsa-public.pem"),
    "ES256": ("ec-private.pem", "ec-public.pem"),
    "EdDSA": ("ed25519-private.pem", "ed25519-public.pem"),
}


def pems(alg: str) -> tuple[str, str]:
    files = PEMS[alg]
    assert files is not None
    return (TEST_KEYS / files[0]).read_text(), (TEST_KEYS / files[1]).read_text()


def ours(alg: str) -> tuple[authgate.KeySet, authgate.KeySet]:
    if alg == "HS256":
        k = authgate.Key.hmac(SECRET, kid="k")
        return authgate.KeySet([k]), authgate.KeySet([k])
    private, public = pems(alg)
    verifier = authgate.KeySet()
    verifier.add(authgate.Key.from_pem(public, alg, kid="k"))
    return authgate.KeySet([authgate.Key.from_pem(private, alg, kid="k")]), verifier


def claims() -> dict[str, object]:
    return {"sub": "user-1", "iss": "https://auth.example", "aud": "api", "exp": int(time.time()) + 600}


@pytest.mark.parametrize("alg", list(PEMS))
def test_pyjwt_and_authgate_verify_each_other(alg: str) -> None:
    signer, verifier = ours(alg)
    if alg == "HS256":
        their_private: object = SECRET
        their_public: object = SECRET
    else:
        private, public = pems(alg)
        their_private = load_pem_private_key(private.encode(), None)
        their_public = load_pem_public_key(public.encode())
    token = signer.sign(claims())
    decoded = pyjwt.decode(token, their_public, algorithms=[alg], audience="api", issuer="https://auth.example")  # type: ignore[arg-type]
    assert decoded["sub"] == "user-1"
    theirs = pyjwt.encode(claims(), their_private, algorithm=alg, headers={"kid": "k"})  # type: ignore[arg-type]
    assert verifier.verify(theirs, issuer="https://auth.example", audience="api")["sub"] == "user-1"


@pytest.mark.parametrize("alg", ["HS256", "RS256", "ES256", "EdDSA"])
def test_joserfc_and_authgate_verify_each_other(alg: str) -> None:
    signer, verifier = ours(alg)
    if alg == "HS256":
        key: object = OctKey.import_key(SECRET)
    else:
        private, _ = pems(alg)
        key = {"RS256": RSAKey, "ES256": ECKey, "EdDSA": OKPKey}[alg].import_key(private)
    token = signer.sign(claims())
    assert joserfc_jwt.decode(token, key, algorithms=[alg]).claims["sub"] == "user-1"  # type: ignore[arg-type]
    theirs = joserfc_jwt.encode({"alg": alg, "kid": "k"}, claims(), key, algorithms=[alg])  # type: ignore[arg-type]
    assert verifier.verify(theirs, audience="api")["sub"] == "user-1"
