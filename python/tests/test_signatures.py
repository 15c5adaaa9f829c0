"""Request and webhook signatures through the Python package: interoperability with the
libraries Python users would otherwise pick (http-message-signatures, standardwebhooks),
key resolver callbacks, header containers, and concurrent replays."""

from __future__ import annotations

import base64
import threading
from datetime import datetime, timezone
from types import SimpleNamespace
from typing import Any

import pytest
import standardwebhooks
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from http_message_signatures import HTTPMessageSigner, HTTPMessageVerifier, MappingKeyResolver, algorithms

import authgate

NOW = 1_700_000_000
URL = "https://api.example.com/v1/orders?dry=1"
BODY = b'{"item":"book","qty":2}'
SECRET = b"0123456789abcdef0123456789abcdef"


def message(headers: dict[str, str]) -> Any:
    return SimpleNamespace(method="POST", url=URL, headers=headers)


def verifier(key: authgate.SignatureKey, **policy: Any) -> authgate.RequestVerifier:
    return authgate.RequestVerifier({"client-1": key}, clock=authgate.ManualClock(NOW), **policy)


def test_http_message_signatures_verifies_what_authgate_signs() -> None:
    signer = authgate.RequestSigner(
        "client-1", authgate.SignatureKey.hmac_sha256(SECRET), clock=authgate.ManualClock(NOW)
    )
    headers = {"Content-Type": "application/json"}
    headers.update(signer.sign("POST", URL, headers, BODY))
    theirs = HTTPMessageVerifier(
        signature_algorithm=algorithms.HMAC_SHA256,
        key_resolver=MappingKeyResolver(public_keys={"client-1": SECRET}, private_keys={}),
    )
    results = theirs.verify(message(headers), max_age=None, body=BODY)
    assert results[0].parameters["keyid"] == "client-1"
    assert "content-digest" in str(results[0].covered_components)


@pytest.mark.parametrize("alg", ["hmac-sha256", "ed25519"])
def test_authgate_verifies_what_http_message_signatures_signs(alg: str) -> None:
    if alg == "hmac-sha256":
        theirs_key: Any = SECRET
        ours = authgate.SignatureKey.hmac_sha256(SECRET)
        algorithm: Any = algorithms.HMAC_SHA256
    else:
        private = Ed25519PrivateKey.generate()
        theirs_key = private
        raw = private.public_key().public_bytes_raw()
        ours = authgate.SignatureKey.ed25519_public(raw)
        algorithm = algorithms.ED25519
    headers = {"Content-Type": "application/json"}
    HTTPMessageSigner(
        signature_algorithm=algorithm,
        key_resolver=MappingKeyResolver(public_keys={}, private_keys={"client-1": theirs_key}),
    ).sign(
        message(headers),
        key_id="client-1",
        created=datetime.fromtimestamp(NOW, timezone.utc),
        nonce="nonce-1",
        label="sig1",
        covered_component_ids=("@method", "@authority", "@path", "@query", "content-digest"),
        body=BODY,
    )
    assert "Content-Digest" in headers
    v = verifier(ours)
    result = v.verify("POST", URL, headers, BODY)
    assert (result.keyid, result.algorithm, result.nonce) == ("client-1", alg, "nonce-1")
    with pytest.raises(authgate.ReplayDetected):
        v.verify("POST", URL, headers, BODY)
    with pytest.raises(authgate.DigestMismatch):
        verifier(ours).verify("POST", URL, headers, BODY + b" ")


def test_ed25519_keys_round_trip_through_raw_bytes() -> None:
    key, seed = authgate.SignatureKey.generate("ed25519")
    assert key.can_sign and len(seed) == 32
    public = key.public_key_bytes
    assert public is not None
    # The raw public key is the one `cryptography` derives from the same seed.
    assert Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw() == public
    signer = authgate.RequestSigner(
        "client-1", authgate.SignatureKey.ed25519_seed(seed), clock=authgate.ManualClock(NOW)
    )
    headers = signer.sign("GET", URL)
    assert "Content-Digest" not in headers
    verifier(authgate.SignatureKey.ed25519_public(public)).verify("GET", URL, headers)
    assert not authgate.SignatureKey.ed25519_public(public).can_sign
    Ed25519PublicKey.from_public_bytes(public)


def test_a_callable_resolver_and_its_exceptions() -> None:
    key = authgate.SignatureKey.hmac_sha256(SECRET)
    signer = authgate.RequestSigner("client-1", key, clock=authgate.ManualClock(NOW))
    headers = signer.sign("POST", URL, {}, BODY)
    asked: list[str] = []

    def resolve(keyid: str) -> authgate.SignatureKey | None:
        asked.append(keyid)
        return key if keyid == "client-1" else None

    v = authgate.RequestVerifier(resolve, clock=authgate.ManualClock(NOW))
    assert v.verify("POST", URL, headers, BODY).keyid == "client-1"
    assert asked == ["client-1"]

    def broken(keyid: str) -> authgate.SignatureKey | None:
        raise LookupError("database down")

    with pytest.raises(LookupError, match="database down"):
        authgate.RequestVerifier(broken, clock=authgate.ManualClock(NOW)).verify("POST", URL, headers, BODY)
    with pytest.raises(authgate.UnknownKey):
        authgate.RequestVerifier(lambda _k: None, clock=authgate.ManualClock(NOW)).verify("POST", URL, headers, BODY)
    with pytest.raises(TypeError):
        authgate.RequestVerifier(lambda _k: "not a key", clock=authgate.ManualClock(NOW)).verify(
            "POST", URL, headers, BODY
        )


def test_header_containers_and_bad_arguments() -> None:
    key = authgate.SignatureKey.hmac_sha256(SECRET)
    signed = authgate.RequestSigner("client-1", key, clock=authgate.ManualClock(NOW)).sign("POST", URL, None, BODY)
    v = verifier(key)
    # A list of pairs, a dict, and bytearray bodies all work.
    assert v.verify("POST", URL, list(signed.items()), bytearray(BODY)).label == "sig1"
    with pytest.raises(TypeError):
        v.verify("POST", URL, 42, BODY)  # type: ignore[arg-type]
    with pytest.raises(authgate.InvalidInput):
        v.verify("POST", "not a url", signed, BODY)
    with pytest.raises(authgate.WeakKey):
        authgate.SignatureKey.hmac_sha256(b"short")
    with pytest.raises(ValueError):
        authgate.SignatureKey.generate("rsa")  # type: ignore[arg-type]
    with pytest.raises(authgate.SignatureError):
        v.verify("POST", URL, {}, BODY)


def test_concurrent_replays_exactly_one_is_accepted() -> None:
    key = authgate.SignatureKey.hmac_sha256(SECRET)
    headers = authgate.RequestSigner("client-1", key, clock=authgate.ManualClock(NOW)).sign("POST", URL, {}, BODY)
    v = verifier(key)
    barrier = threading.Barrier(8)
    outcomes: list[str] = []

    def attempt() -> None:
        barrier.wait()
        try:
            v.verify("POST", URL, headers, BODY)
            outcomes.append("ok")
        except authgate.ReplayDetected:
            outcomes.append("replay")

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["ok"] + ["replay"] * 7


def test_standardwebhooks_and_authgate_verify_each_other() -> None:
    secret = authgate.WebhookKey.generate_secret()
    payload = b'{"type":"invoice.paid"}'
    ts = datetime.now(timezone.utc)
    theirs = standardwebhooks.Webhook(secret)
    signature = theirs.sign("msg_1", ts, payload.decode())
    ours = authgate.WebhookVerifier([secret])
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(int(ts.timestamp())), "webhook-signature": signature}
    assert ours.verify(headers, payload).version == "v1"
    with pytest.raises(authgate.ReplayDetected):
        ours.verify(headers, payload)
    mine = authgate.sign_webhook([secret], "msg_2", ts, payload)
    headers = {"webhook-id": "msg_2", "webhook-timestamp": str(int(ts.timestamp())), "webhook-signature": mine}
    theirs.verify(payload, headers)


def test_svix_and_authgate_verify_each_other_with_svix_headers() -> None:
    # #20 item 19: Svix sends svix-id, svix-timestamp and svix-signature; both read them.
    from svix.webhooks import Webhook as SvixWebhook

    secret = authgate.WebhookKey.generate_secret()
    payload = b'{"type":"invoice.paid"}'
    ts = datetime.now(timezone.utc)
    theirs = SvixWebhook(secret)
    signature = theirs.sign("msg_1", ts, payload.decode())
    ours = authgate.WebhookVerifier([secret])
    headers = {"svix-id": "msg_1", "svix-timestamp": str(int(ts.timestamp())), "svix-signature": signature}
    assert ours.verify(headers, payload).id == "msg_1"
    with pytest.raises(authgate.ReplayDetected):  # the alias names the same message
        ours.verify(
            {"webhook-id": "msg_1", "webhook-timestamp": headers["svix-timestamp"], "webhook-signature": signature},
            payload,
        )
    mine = authgate.sign_webhook([secret], "msg_2", ts, payload)
    theirs.verify(payload, {"svix-id": "msg_2", "svix-timestamp": str(int(ts.timestamp())), "svix-signature": mine})
    with pytest.raises(authgate.MalformedSignature):  # the two names disagree
        ours.verify({**headers, "svix-id": "msg_3", "webhook-id": "msg_4"}, payload)


def test_v1a_webhooks_check_against_cryptography() -> None:
    whsk, whpk = authgate.WebhookKey.generate_keypair()
    ts = NOW
    header = authgate.sign_webhook([whsk], "msg_1", ts, b"{}")
    version, b64 = header.split(",", 1)
    assert version == "v1a"
    public = base64.b64decode(whpk.removeprefix("whpk_"))
    Ed25519PublicKey.from_public_bytes(public).verify(base64.b64decode(b64), f"msg_1.{ts}.{{}}".encode())
    v = authgate.WebhookVerifier([whpk], clock=authgate.ManualClock(ts), check_replay=False)
    headers = [("webhook-id", "msg_1"), ("webhook-timestamp", str(ts)), ("webhook-signature", header)]
    v.verify(headers, b"{}")
    v.verify(headers, b"{}")  # replay checks off
    assert authgate.WebhookKey(whpk).public_key == whpk
    assert not authgate.WebhookKey(whpk).can_sign
