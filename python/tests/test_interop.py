"""PyJWT and joserfc (libraries authgate did not write) verify authgate's tokens, and
authgate verifies theirs, for every algorithm both support."""

from __future__ import annotations

import time

import jwt as pyjwt
import pytest
from conftest import TEST_KEYS
from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key
from joserfc import jwt as joserfc_jwt
from joserfc.jwk import ECKey, OctKey, OKPKey, RSAKey

import authgate

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


def test_generated_ed25519_pem_is_pkcs8_v1_and_read_by_cryptography_and_joserfc() -> None:
    # #20 item 14: Key.generate_pem writes the RFC 8410 v1 form that OpenSSL 3.0 and
    # Python's cryptography read (the v2 form with the public key was refused).
    pem = authgate.Key.generate_pem("EdDSA")
    theirs = load_pem_private_key(pem.encode(), None)
    ours_key = authgate.Key.from_pem(pem, "EdDSA", kid="k")
    token = pyjwt.encode(claims(), theirs, algorithm="EdDSA", headers={"kid": "k"})  # type: ignore[arg-type]
    assert authgate.KeySet([ours_key]).verify(token, audience="api")["sub"] == "user-1"
    joserfc_key = OKPKey.import_key(pem)
    signed = authgate.KeySet([ours_key]).sign(claims())
    assert joserfc_jwt.decode(signed, joserfc_key, algorithms=["EdDSA"]).claims["sub"] == "user-1"


def test_cryptography_ed25519_pkcs8_is_read_by_authgate() -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
    key = authgate.Key.from_pem(pem, "EdDSA", kid="k")
    token = authgate.KeySet([key]).sign(claims())
    assert pyjwt.decode(token, private.public_key(), algorithms=["EdDSA"], audience="api")["sub"] == "user-1"  # type: ignore[arg-type]


@pytest.mark.parametrize("ours_alg", ["EdDSA", "Ed25519"])
def test_joserfc_ed25519_algorithm_name_both_ways(ours_alg: str) -> None:
    # #20 item 15, RFC 9864: joserfc emits `Ed25519` and deprecates `EdDSA`; an Ed25519 key
    # verifies tokens under either name and signs with the name it was loaded under.
    private, _ = pems("EdDSA")
    key = OKPKey.import_key(private)
    verifier = authgate.KeySet()
    verifier.add(authgate.Key.from_pem(private, ours_alg, kid="k"))
    theirs = joserfc_jwt.encode({"alg": "Ed25519", "kid": "k"}, claims(), key, algorithms=["Ed25519"])
    assert verifier.verify(theirs, audience="api", algorithms=[ours_alg])["sub"] == "user-1"
    signer = authgate.KeySet([authgate.Key.from_pem(private, "Ed25519", kid="k")])
    token = signer.sign(claims())
    assert pyjwt.get_unverified_header(token)["alg"] == "Ed25519"
    assert joserfc_jwt.decode(token, key, algorithms=["Ed25519"]).claims["sub"] == "user-1"


def test_hmac_secret_that_is_a_public_key_is_refused_with_what_it_is() -> None:
    # #20 item 1: the classic misconfiguration (PyJWT refuses it too).
    public = (TEST_KEYS / "ec-public.pem").read_text()
    with pytest.raises(authgate.InvalidKey, match="PEM key or certificate"):
        authgate.Key.hmac(public)
    with pytest.raises(authgate.InvalidKey, match="PEM key or certificate"):
        authgate.Key.hmac(public.encode())
    # The peer agrees: PyJWT refuses the same secret for HS256.
    with pytest.raises(pyjwt.exceptions.InvalidKeyError):
        pyjwt.encode({"sub": "x"}, public, algorithm="HS256")


def _nested_token(levels: int) -> str:
    import base64
    import hashlib
    import hmac

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    text = '{"exp":4102444800,"data":' + "[" * levels + '"deep"' + "]" * levels + "}"
    signing_input = b64(b'{"alg":"HS256"}') + "." + b64(text.encode())
    signature = hmac.new(b"\x07" * 32, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64(signature)


def test_claims_nest_at_most_127_levels_as_in_every_runtime() -> None:
    # #20 item 6: one limit, in the core (Node accepted 100,000 levels, Python refused 127).
    keys = authgate.KeySet([authgate.Key.hmac(b"\x07" * 32)])
    claims = keys.verify(_nested_token(126))
    depth, value = 0, claims["data"]
    while isinstance(value, list):
        depth, value = depth + 1, value[0]
    assert (depth, value) == (126, "deep")
    for levels in (127, 100_000):
        with pytest.raises(authgate.MalformedToken, match="deeper than 127"):
            keys.verify(_nested_token(levels), max_token_bytes=1 << 20)


def test_an_rsa_jwk_without_alg_verifies_joserfc_and_pyjwt_ps256() -> None:
    # #20 item 17: providers publish RSA keys without `alg` and sign PS256 with them; the
    # key verifies PS256 when the verifier's allow-list names it, RS256 by default.
    private, _ = pems("PS256")
    their_key = RSAKey.import_key(private)
    jwk = {k: v for k, v in their_key.as_dict(private=False).items() if k != "alg"}
    jwk["kid"] = "k"
    verifier = authgate.KeySet()
    verifier.import_jwks({"keys": [jwk]})
    for alg in ("PS256", "PS384", "RS256"):
        theirs = joserfc_jwt.encode({"alg": alg, "kid": "k"}, claims(), their_key, algorithms=[alg])
        assert verifier.verify(theirs, audience="api", algorithms=["RS256", alg])["sub"] == "user-1"
        by_pyjwt = pyjwt.encode(
            claims(),
            load_pem_private_key(private.encode(), None),
            algorithm=alg,  # type: ignore[arg-type]
            headers={"kid": "k"},
        )
        assert verifier.verify(by_pyjwt, audience="api", algorithms=["RS256", alg])["sub"] == "user-1"
    ps = joserfc_jwt.encode({"alg": "PS256", "kid": "k"}, claims(), their_key, algorithms=["PS256"])
    with pytest.raises(authgate.AlgorithmNotAllowed):
        verifier.verify(ps, audience="api")  # no allow-list: RS256 only
    # The other way: authgate signs PS256; both peers verify with the public JWK.
    signer = authgate.KeySet([authgate.Key.from_pem(private, "PS256", kid="k")])
    ours_token = signer.sign(claims())
    assert joserfc_jwt.decode(ours_token, their_key, algorithms=["PS256"]).claims["sub"] == "user-1"
    public = load_pem_private_key(private.encode(), None).public_key()
    assert pyjwt.decode(ours_token, public, algorithms=["PS256"], audience="api")["sub"] == "user-1"  # type: ignore[arg-type]


@pytest.mark.parametrize("curve", ["P-256", "P-384"])
def test_sec1_ec_private_keys_from_cryptography_sign_for_pyjwt(curve: str) -> None:
    # #20 item 18: SEC1 `EC PRIVATE KEY` (cryptography's TraditionalOpenSSL, what `openssl
    # ecparam -genkey` writes) imports; authgate's tokens verify with PyJWT and joserfc,
    # and theirs with the key authgate read.
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

    alg = {"P-256": "ES256", "P-384": "ES384"}[curve]
    private = ec.generate_private_key(ec.SECP256R1() if curve == "P-256" else ec.SECP384R1())
    pem = private.private_bytes(Encoding.PEM, PrivateFormat.TraditionalOpenSSL, NoEncryption()).decode()
    assert pem.startswith("-----BEGIN EC PRIVATE KEY-----")
    key = authgate.Key.from_pem(pem, alg, kid="k")
    signer = authgate.KeySet([key])
    token = signer.sign(claims())
    assert pyjwt.decode(token, private.public_key(), algorithms=[alg], audience="api")["sub"] == "user-1"  # type: ignore[arg-type]
    assert joserfc_jwt.decode(token, ECKey.import_key(pem), algorithms=[alg]).claims["sub"] == "user-1"
    theirs = pyjwt.encode(claims(), private, algorithm=alg, headers={"kid": "k"})  # type: ignore[arg-type]
    assert signer.verify(theirs, audience="api")["sub"] == "user-1"
