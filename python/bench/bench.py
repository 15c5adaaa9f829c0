"""authgate's Python package beside PyJWT and joserfc, in one run, on the same tokens with
the same checks (signature, exp, iss, aud). Writes its table into docs/benchmarks.md.

Run by `make bench` (after `make python-build`); rows for capabilities not yet present
(TOTP, rate limits) are added when they land."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

import jwt as pyjwt
from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key
from joserfc import jwt as joserfc_jwt
from joserfc.jwk import ECKey, OctKey, OKPKey, RSAKey

import authgate

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "core" / "tests" / "data"
DOC = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- BEGIN PYTHON (make bench) -->", "<!-- END PYTHON -->"
SECRET = b"0123456789abcdef0123456789abcdef"
ISS, AUD = "https://auth.example", "api"
FILES = {"ES256": "ec", "RS256": "rsa", "EdDSA": "ed25519"}


def measure(fn: Callable[[], Any], seconds: float = 1.0) -> float:
    """Median ns per call over 5 rounds."""
    for _ in range(200):
        fn()
    rounds = []
    for _ in range(5):
        n, start = 0, time.perf_counter_ns()
        while time.perf_counter_ns() - start < seconds * 1e9 / 5:
            for _ in range(50):
                fn()
            n += 50
        rounds.append((time.perf_counter_ns() - start) / n)
    return sorted(rounds)[2]


def claims() -> dict[str, Any]:
    now = int(time.time())
    return {
        "iss": ISS,
        "aud": AUD,
        "sub": "user-1",
        "iat": now,
        "exp": now + 3600,
        "scope": "read write",
        "jti": "b3f1c2",
    }


def main() -> None:
    rows: list[tuple[str, dict[str, float]]] = []
    c = claims()

    # HS256
    ours = authgate.KeySet([authgate.Key.hmac(SECRET, kid="k")])
    jr_key = OctKey.import_key(SECRET)
    token = ours.sign(c)
    rows.append(
        (
            "HS256 sign",
            {
                "authgate": measure(lambda: ours.sign(c)),
                "PyJWT": measure(lambda: pyjwt.encode(c, SECRET, algorithm="HS256")),
                "joserfc": measure(lambda: joserfc_jwt.encode({"alg": "HS256"}, c, jr_key)),
            },
        )
    )
    pyjwt_hs = measure(lambda: pyjwt.decode(token, SECRET, algorithms=["HS256"], issuer=ISS, audience=AUD))
    joserfc_hs = measure(lambda: joserfc_validate(token, jr_key, "HS256"))
    rows.append(
        (
            "HS256 verify (exp, iss, aud), `KeySet.verify(token, issuer=…, audience=…)`",
            {
                "authgate": measure(lambda: ours.verify(token, issuer=ISS, audience=AUD)),
                "PyJWT": pyjwt_hs,
                "joserfc": joserfc_hs,
            },
        )
    )
    verifier = ours.verifier(issuer=ISS, audience=AUD)
    rows.append(
        (
            "HS256 verify (exp, iss, aud), prebuilt `Verifier.verify(token)`",
            {
                "authgate": measure(lambda: verifier.verify(token)),
                "PyJWT": pyjwt_hs,
                "joserfc": joserfc_hs,
            },
        )
    )

    for alg, stem in FILES.items():
        private = (DATA / f"{stem}-private.pem").read_text()
        public = (DATA / f"{stem}-public.pem").read_text()
        signer = authgate.KeySet([authgate.Key.from_pem(private, alg, kid="k")])
        verifier = authgate.KeySet()
        verifier.add(authgate.Key.from_pem(public, alg, kid="k"))
        token = signer.sign(c)
        their_public = load_pem_public_key(public.encode())
        jr = {"ES256": ECKey, "RS256": RSAKey, "EdDSA": OKPKey}[alg].import_key(public)
        assert load_pem_private_key(private.encode(), None)
        rows.append(
            (
                f"{alg} verify (exp, iss, aud)",
                {
                    "authgate": measure(lambda: verifier.verify(token, issuer=ISS, audience=AUD)),
                    "PyJWT": measure(
                        lambda: pyjwt.decode(token, their_public, algorithms=[alg], issuer=ISS, audience=AUD)
                    ),  # type: ignore[arg-type]
                    "joserfc": measure(lambda: joserfc_validate(token, jr, alg)),
                },
            )
        )

    write(rows)


def joserfc_validate(token: str, key: Any, alg: str) -> None:
    decoded = joserfc_jwt.decode(token, key, algorithms=[alg])
    joserfc_jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": ISS}, aud={"essential": True, "value": AUD}
    ).validate(decoded.claims)


def write_section(lines: list[str], after: str | None = None) -> None:
    """Puts `lines` (from their BEGIN marker to their END marker) into docs/benchmarks.md in
    place of that section's last run; a new section goes after the marker `after`."""
    begin, end = lines[0], lines[-1]
    text = DOC.read_text()
    if begin not in text:
        new = f"{begin}\n{end}"
        text = text.replace(after, f"{after}\n\n{new}") if after and after in text else f"{text}\n{new}\n"
    start, stop = text.index(begin), text.index(end) + len(end)
    DOC.write_text(text[:start] + "\n".join(lines) + text[stop:])
    print("\n".join(lines))


def fmt(ns: float) -> str:
    return f"{ns / 1000:.2f} µs" if ns >= 1000 else f"{ns:.0f} ns"


def write(rows: list[tuple[str, dict[str, float]]]) -> None:
    peers = ["PyJWT", "joserfc"]
    lines = [
        BEGIN,
        "",
        f"Python {sys.version.split()[0]}; authgate {authgate.__version__}, "
        + ", ".join(f"{p} {version(p)}" for p in peers)
        + ". Median of 5 rounds, one call at a time.",
        "",
        "| operation | authgate | PyJWT | joserfc | vs PyJWT | vs joserfc |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in rows:
        lines.append(
            f"| {name} | {fmt(r['authgate'])} | {fmt(r['PyJWT'])} | {fmt(r['joserfc'])} "
            f"| {r['PyJWT'] / r['authgate']:.1f}x | {r['joserfc'] / r['authgate']:.1f}x |"
        )
    lines += ["", END]
    write_section(lines)


if __name__ == "__main__":
    main()
