"""authgate's request and webhook signatures beside http-message-signatures and
standardwebhooks, in one run, on the same typical API request: POST with a query, five
covered components plus Content-Digest over a 1 KiB body. authgate's verify includes its
nonce (replay) check; http-message-signatures has none. Writes its table into
docs/benchmarks.md; run by `make bench`."""

from __future__ import annotations

import sys
import time
from datetime import datetime, timezone
from importlib.metadata import version
from types import SimpleNamespace
from typing import Any

import standardwebhooks
from http_message_signatures import HTTPMessageSigner, HTTPMessageVerifier, MappingKeyResolver, algorithms

import authgate
from bench import fmt, measure, write_section

BEGIN, END = "<!-- BEGIN PYTHON SIGNATURES (make bench) -->", "<!-- END PYTHON SIGNATURES -->"
URL = "https://api.example.com/v1/orders?dry=1"
BODY = b'{"items":[' + b'"book",' * 145 + b'"end"]}'  # 1022 bytes of JSON
SECRET = b"0123456789abcdef0123456789abcdef"
COMPONENTS = ("@method", "@authority", "@path", "@query", "content-type")


def authgate_rows() -> tuple[float, float]:
    key = authgate.SignatureKey.hmac_sha256(SECRET)
    signer = authgate.RequestSigner("client-1", key, components=list(COMPONENTS))
    verifier = authgate.RequestVerifier({"client-1": key})
    headers = {"Content-Type": "application/json"}

    def sign() -> dict[str, str]:
        return signer.sign("POST", URL, headers, BODY)

    def sign_and_verify() -> None:
        signed = dict(headers)
        signed.update(signer.sign("POST", URL, headers, BODY))
        verifier.verify("POST", URL, signed, BODY)

    return measure(sign), measure(sign_and_verify)


def peer_rows() -> tuple[float, float]:
    resolver = MappingKeyResolver(public_keys={"client-1": SECRET}, private_keys={"client-1": SECRET})
    signer = HTTPMessageSigner(signature_algorithm=algorithms.HMAC_SHA256, key_resolver=resolver)
    verifier = HTTPMessageVerifier(signature_algorithm=algorithms.HMAC_SHA256, key_resolver=resolver)
    n = [0]

    def sign() -> Any:
        n[0] += 1
        msg = SimpleNamespace(method="POST", url=URL, headers={"Content-Type": "application/json"})
        signer.sign(
            msg,
            key_id="client-1",
            created=datetime.now(timezone.utc),
            nonce=f"n{n[0]}",
            label="sig1",
            covered_component_ids=COMPONENTS + ("content-digest",),
            body=BODY,
        )
        return msg

    def sign_and_verify() -> None:
        verifier.verify(sign(), max_age=None, body=BODY)

    return measure(sign), measure(sign_and_verify)


def webhook_rows() -> tuple[dict[str, float], dict[str, float]]:
    secret = authgate.WebhookKey.generate_secret()
    ts = int(time.time())
    payload = BODY
    mine = authgate.sign_webhook([secret], "msg_1", ts, payload)
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(ts), "webhook-signature": mine}
    ours = authgate.WebhookVerifier([secret], check_replay=False)
    theirs = standardwebhooks.Webhook(secret)
    when = datetime.fromtimestamp(ts, timezone.utc)
    text = payload.decode()
    sign = {
        "authgate": measure(lambda: authgate.sign_webhook([secret], "msg_1", ts, payload)),
        "peer": measure(lambda: theirs.sign("msg_1", when, text)),
    }
    verify = {
        "authgate": measure(lambda: ours.verify(headers, payload)),
        "peer": measure(lambda: theirs.verify(payload, headers, json_parse=False)),
    }
    return sign, verify


def main() -> None:
    ag_sign, ag_both = authgate_rows()
    peer_sign, peer_both = peer_rows()
    wh_sign, wh_verify = webhook_rows()
    hms, sw = "http-message-signatures", "standardwebhooks"
    lines = [
        BEGIN,
        "",
        f"Python {sys.version.split()[0]}; authgate {authgate.__version__}, {hms} {version(hms)}, "
        f"{sw} {version(sw)}. Median of 5 rounds, one call at a time. Request: POST with a query, "
        "`@method @authority @path @query content-type` + `content-digest` over a 1 KiB body, hmac-sha256.",
        "",
        "| operation | authgate | peer | speed-up |",
        "|---|---|---|---|",
    ]
    rows = [
        (f"RFC 9421 sign (vs {hms})", ag_sign, peer_sign),
        (
            f"RFC 9421 sign + verify; authgate's verify includes the nonce replay check (vs {hms}, no replay check)",
            ag_both,
            peer_both,
        ),
        (f"Standard Webhooks v1 sign, 1 KiB payload (vs {sw})", wh_sign["authgate"], wh_sign["peer"]),
        (f"Standard Webhooks v1 verify, 1 KiB payload (vs {sw})", wh_verify["authgate"], wh_verify["peer"]),
    ]
    for name, ours, theirs in rows:
        lines.append(f"| {name} | {fmt(ours)} | {fmt(theirs)} | {theirs / ours:.1f}x |")
    lines += ["", END]
    write_section(lines, after="<!-- END PYTHON -->")


if __name__ == "__main__":
    main()
