"""DPoP (RFC 9449) and certificate-bound tokens (RFC 8705) through the Python package, with
PyJWT and cryptography as the independent other side."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from datetime import datetime, timedelta, timezone

import jwt as pyjwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from stores import redis_store, require_redis

import authgate
from authgate.aio import AsyncDpopVerifier

NOW = 1_700_000_000
URI = "https://api.example.com/orders"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def client_key() -> authgate.Key:
    return authgate.Key.from_pem(authgate.Key.generate_pem("ES256"), "ES256")


def test_a_created_proof_verifies_once_and_binds_to_cnf_jkt() -> None:
    key = client_key()
    jwk = key.public_jwk()
    assert jwk is not None
    jkt = authgate.jwk_thumbprint(jwk)
    token = "eyJ.access.token"
    proof = authgate.create_dpop_proof(key, "GET", URI + "?page=2", access_token=token, now=NOW)
    verifier = authgate.DpopVerifier(clock=authgate.ManualClock(NOW + 10))
    got = verifier.verify(proof, "GET", URI, access_token=token, access_claims={"sub": "a", "cnf": {"jkt": jkt}})
    assert (got.jkt, got.iat) == (jkt, NOW)
    assert len(got.jti) >= 22
    with pytest.raises(authgate.ReplayDetected):
        verifier.verify(proof, "GET", URI, access_token=token)
    other = authgate.create_dpop_proof(key, "GET", URI, access_token=token, now=NOW)
    with pytest.raises(authgate.InvalidClaim, match="another key"):
        verifier.verify(other, "GET", URI, access_token=token, access_claims={"cnf": {"jkt": "x" * 43}})
    with pytest.raises(authgate.MissingClaim):
        verifier.verify(other, "GET", URI, access_token=token, access_claims={"sub": "a"})
    with pytest.raises(authgate.InvalidKey):
        authgate.create_dpop_proof(authgate.Key.hmac(b"k" * 32), "GET", URI)
    with pytest.raises(authgate.InvalidInput):
        authgate.create_dpop_proof(key, "GET", "/relative")


def test_nonces_raise_use_dpop_nonce_with_the_http_answer() -> None:
    key = client_key()
    verifier = authgate.DpopVerifier(clock=authgate.ManualClock(NOW))
    nonce = authgate.generate_dpop_nonce()
    assert len(nonce) == 22 and nonce != authgate.generate_dpop_nonce()
    stale = authgate.create_dpop_proof(key, "POST", URI, nonce="old", now=NOW)
    with pytest.raises(authgate.UseDpopNonce) as info:
        verifier.verify(stale, "POST", URI, nonce=nonce)
    assert isinstance(info.value, authgate.TokenError)
    status, challenge = authgate._authgate.http_error(info.value.code, str(info.value))
    assert status == 401 and challenge is not None and 'error="use_dpop_nonce"' in challenge
    fresh = authgate.create_dpop_proof(key, "POST", URI, nonce=nonce, now=NOW)
    assert verifier.verify(fresh, "POST", URI, nonce=nonce).iat == NOW


def test_pyjwt_proofs_verify_here_and_ours_verify_with_pyjwt() -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    numbers = private.public_key().public_numbers()
    jwk = {
        "kty": "EC",
        "crv": "P-256",
        "x": b64(numbers.x.to_bytes(32, "big")),
        "y": b64(numbers.y.to_bytes(32, "big")),
    }
    token = "access-token-value"
    theirs = pyjwt.encode(
        {
            "jti": "pyjwt-1",
            "htm": "DELETE",
            "htu": URI,
            "iat": NOW,
            "ath": b64(hashlib.sha256(token.encode()).digest()),
        },
        private,
        algorithm="ES256",
        headers={"typ": "dpop+jwt", "jwk": jwk},
    )
    got = authgate.DpopVerifier(clock=authgate.ManualClock(NOW)).verify(theirs, "DELETE", URI, access_token=token)
    # The thumbprint, computed independently (RFC 7638 §3.2).
    canonical = json.dumps({k: jwk[k] for k in ("crv", "kty", "x", "y")}, separators=(",", ":"))
    assert got.jkt == b64(hashlib.sha256(canonical.encode()).digest())

    ours = authgate.create_dpop_proof(
        authgate.Key.from_pem(
            private.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ),
            "ES256",
        ),
        "PUT",
        URI,
        access_token=token,
        now=NOW,
    )
    header = pyjwt.get_unverified_header(ours)
    public = pyjwt.PyJWK(header["jwk"], "ES256").key
    claims = pyjwt.decode(ours, public, algorithms=["ES256"])
    assert header["typ"] == "dpop+jwt" and header["jwk"] == jwk
    assert (claims["htm"], claims["htu"], claims["iat"]) == ("PUT", URI, NOW)
    assert claims["ath"] == b64(hashlib.sha256(token.encode()).digest())


def certificate() -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "client.example")])
    now = datetime.now(timezone.utc)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )


def test_certificate_thumbprints_match_cryptography_in_every_form() -> None:
    from urllib.parse import quote

    cert = certificate()
    want = b64(cert.fingerprint(hashes.SHA256()))
    pem = cert.public_bytes(serialization.Encoding.PEM)
    der = cert.public_bytes(serialization.Encoding.DER)
    for form in (pem, pem.decode(), der, quote(pem.decode())):
        assert authgate.certificate_thumbprint(form) == want
    authgate.check_certificate_binding({"cnf": {"x5t#S256": want}}, quote(pem.decode()))
    with pytest.raises(authgate.InvalidClaim):
        authgate.check_certificate_binding({"cnf": {"x5t#S256": want[::-1]}}, der)
    with pytest.raises(authgate.MissingClaim):
        authgate.check_certificate_binding({"sub": "svc"}, der)
    with pytest.raises(authgate.InvalidInput):
        authgate.certificate_thumbprint(b"\x30" + b"\x00" * 70_000)
    with pytest.raises(TypeError):
        authgate.certificate_thumbprint(42)  # type: ignore[arg-type]


def test_replay_is_refused_across_servers_sharing_redis() -> None:
    url = require_redis()
    prefix = f"test:dpop:{b64(authgate.generate_dpop_nonce().encode())}:"
    one = authgate.DpopVerifier(store=redis_store(url, prefix), clock=authgate.ManualClock(NOW))
    two = authgate.DpopVerifier(store=redis_store(url, prefix), clock=authgate.ManualClock(NOW))
    assert one.remote_store
    proof = authgate.create_dpop_proof(client_key(), "GET", URI, now=NOW)
    one.verify(proof, "GET", URI)
    with pytest.raises(authgate.ReplayDetected):
        two.verify(proof, "GET", URI)

    async def main() -> str:
        verifier = AsyncDpopVerifier(two)
        again = authgate.create_dpop_proof(client_key(), "GET", URI, now=NOW)
        return (await verifier.verify(again, "GET", URI)).jkt

    assert len(asyncio.run(main())) == 43
