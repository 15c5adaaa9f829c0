"""Verifying an identity provider's token (RS256, as Auth0, Google and Cognito issue them)
through a cached remote key set: authgate's RemoteJwks beside PyJWT's PyJWKClient, both
fetching from the same local HTTPS server (tests/https-server) once and then from cache; and a
DPoP proof check (signature, htm/htu/iat/ath, jti once) beside the same checks written over
PyJWT. Writes its table into docs/benchmarks.md; run by `make bench`."""

from __future__ import annotations

import hashlib
import json
import ssl
import sys
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

import jwt as pyjwt

import authgate
from bench import DATA, fmt, measure, write_section

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from https_server import HttpsServer

BEGIN, END = "<!-- BEGIN PYTHON IDENTITY PROVIDERS (make bench) -->", "<!-- END PYTHON IDENTITY PROVIDERS -->"
AUD, URI = "https://api.example.com", "https://api.example.com/orders"


def b64(data: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def remote_rows(server: HttpsServer) -> tuple[float, float]:
    pem = (DATA / "rsa-private.pem").read_text()
    keys = authgate.KeySet([authgate.Key.from_pem(pem, "RS256", kid="idp-1")])
    keys.activate("idp-1")
    server.set("/jwks.json", json.dumps(keys.jwks()))
    iss = server.url("/")
    token = keys.sign({"iss": iss, "sub": "alice", "aud": AUD, "exp": int(time.time()) + 3600})

    ours = authgate.RemoteJwks(server.url("/jwks.json"), ca_cert_pem=server.ca)
    context = ssl.create_default_context(cadata=server.ca)
    theirs = pyjwt.PyJWKClient(server.url("/jwks.json"), ssl_context=context)

    def authgate_verify() -> Any:
        return ours.verify(token, issuer=iss, audience=AUD)

    def pyjwt_verify() -> Any:
        key = theirs.get_signing_key_from_jwt(token)
        return pyjwt.decode(token, key.key, algorithms=["RS256"], issuer=iss, audience=AUD)

    assert authgate_verify()["sub"] == pyjwt_verify()["sub"] == "alice"
    return measure(authgate_verify), measure(pyjwt_verify)


def dpop_rows() -> tuple[float, float]:
    key = authgate.Key.from_pem((DATA / "ec-private.pem").read_text(), "ES256")
    token = "access-token"
    ath = b64(hashlib.sha256(token.encode()).digest())
    n = [0]

    def proof() -> str:
        return authgate.create_dpop_proof(key, "GET", URI, access_token=token)

    ours = authgate.DpopVerifier()

    def authgate_verify() -> Any:
        return ours.verify(proof(), "GET", URI, access_token=token)

    seen: set[str] = set()

    def pyjwt_verify() -> Any:
        # What a PyJWT user writes: key from the header, then each RFC 9449 check by hand.
        p = proof()
        header = pyjwt.get_unverified_header(p)
        assert header["typ"] == "dpop+jwt" and header["alg"] in ("ES256", "EdDSA", "RS256")
        claims = pyjwt.decode(p, pyjwt.PyJWK(header["jwk"], header["alg"]).key, algorithms=[header["alg"]])
        assert claims["htm"] == "GET" and claims["htu"] == URI and claims["ath"] == ath
        assert abs(time.time() - claims["iat"]) < 300 and claims["jti"] not in seen
        seen.add(claims["jti"])
        n[0] += 1
        return claims

    making = measure(proof)
    return measure(authgate_verify) - making, measure(pyjwt_verify) - making


def main() -> None:
    with HttpsServer() as server:
        remote_ours, remote_theirs = remote_rows(server)
    dpop_ours, dpop_theirs = dpop_rows()
    lines = [
        BEGIN,
        "",
        f"Python {sys.version.split()[0]}; authgate {authgate.__version__}, PyJWT {version('PyJWT')}. "
        "Median of 5 rounds, one call at a time. Both key sets are fetched once from a local HTTPS server, "
        "then served from their caches.",
        "",
        "| operation | authgate | PyJWT | speed-up |",
        "|---|---|---|---|",
        f"| RS256 identity-provider token, cached remote JWKS, iss + aud checked (vs PyJWKClient + decode) "
        f"| {fmt(remote_ours)} | {fmt(remote_theirs)} | {remote_theirs / remote_ours:.1f}x |",
        f"| DPoP proof check, ES256, with `ath` and jti once (vs the same checks over PyJWT; proof creation "
        f"subtracted) | {fmt(dpop_ours)} | {fmt(dpop_theirs)} | {dpop_theirs / dpop_ours:.1f}x |",
        "",
        END,
    ]
    write_section(lines, after="<!-- END PYTHON SIGNATURES -->")


if __name__ == "__main__":
    main()
