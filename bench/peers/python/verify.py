"""Verifies the tokens from `bench_tokens` with PyJWT, with the same checks authgate makes
(signature, exp, iss, aud), and prints one JSON line per row."""

import json
import sys
import time
from importlib.metadata import version
from pathlib import Path

import jwt
from cryptography.hazmat.primitives.serialization import load_pem_public_key

DATA = Path(__file__).resolve().parents[3] / "core" / "tests" / "data"
PUBLIC = {"ES256": "ec-public.pem", "RS256": "rsa-public.pem", "EdDSA": "ed25519-public.pem"}


def measure(fn) -> float:
    for _ in range(200):
        fn()
    n, start = 0, time.perf_counter_ns()
    while time.perf_counter_ns() - start < 1_000_000_000:
        for _ in range(100):
            fn()
        n += 100
    return (time.perf_counter_ns() - start) / n


def main() -> None:
    data = json.loads(Path(sys.argv[1]).read_text())
    for alg, token in data["tokens"].items():
        if alg == "HS256":
            key = data["hs_secret"]
        else:
            key = load_pem_public_key((DATA / PUBLIC[alg]).read_bytes())

        def verify(token=token, key=key, alg=alg):
            jwt.decode(token, key, algorithms=[alg], issuer=data["issuer"], audience=data["audience"])

        row = {
            "runtime": "python",
            "lib": f"PyJWT@{version('PyJWT')}",
            "alg": alg,
            "op": "verify",
            "ns": measure(verify),
        }
        print(json.dumps(row))


if __name__ == "__main__":
    main()
