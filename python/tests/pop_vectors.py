"""Runners for the `pop` and `remote_jwks` vector areas (tests/vectors/README.md)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from conftest import VECTORS
from https_server import HttpsServer
from stores import new_store

import authgate
from authgate.web import Gate

Case = dict[str, Any]

TOKENS: dict[str, str] = json.loads((VECTORS / "remote_jwks" / "scenarios.json").read_text())["tokens"]


def _expect(want: Case, run: Any) -> Any:
    if "error" in want:
        with pytest.raises(authgate.AuthError) as info:
            run()
        assert info.value.code == want["error"], f"got {info.value.code}: {info.value}"
        assert type(info.value) is authgate.errors._BY_CODE[want["error"]]
        return None
    return run()


def _certificate(case: Case) -> bytes | str:
    if "certificate_der_b64" in case:
        return base64.b64decode(case["certificate_der_b64"])
    return str(case["certificate"])


def run_pop(case: Case) -> None:
    op, want = case["op"], case.get("expect", {})
    if op == "jwk_thumbprint":
        got = _expect(want, lambda: authgate.jwk_thumbprint(case["jwk"]))
        if "error" not in want:
            assert got == want["jkt"]
    elif op == "certificate_thumbprint":
        got = _expect(want, lambda: authgate.certificate_thumbprint(_certificate(case)))
        if "error" not in want:
            assert got == want["x5t"]
    elif op == "certificate_binding":
        _expect(want, lambda: authgate.check_certificate_binding(case["claims"], _certificate(case)))
    elif op == "dpop_verify":
        policy = case.get("policy", {})
        verifier = authgate.DpopVerifier(
            max_age=policy.get("max_age"),
            leeway=policy.get("leeway"),
            nonce=policy.get("nonce"),
            algorithms=policy.get("algorithms"),
            store=new_store(),
            clock=authgate.ManualClock(case["now"]),
        )
        for i, r in enumerate(case["requests"]):

            def run(r: Case = r) -> authgate.DpopProof:
                return verifier.verify(
                    r["proof"],
                    r["method"],
                    r["uri"],
                    access_token=r.get("access_token"),
                    access_claims=r.get("access_claims"),
                    nonce=r.get("nonce"),
                )

            got = _expect(r["expect"], run)
            if "error" not in r["expect"]:
                assert (got.jkt, got.jti, got.iat) == (r["expect"]["jkt"], r["expect"]["jti"], r["expect"]["iat"]), i
    elif op == "gate_dpop_nonce":
        keys = authgate.KeySet([authgate.Key.hmac(b"gate-nonce-vector-secret-0123456789", "HS256")])
        _expect(want, lambda: Gate(keys=keys, dpop=authgate.DpopVerifier(nonce=case["nonce"], store=new_store())))
    else:
        raise AssertionError(f"unknown pop op {op!r}")


def run_remote_jwks(case: Case) -> None:
    assert case["op"] == "scenario", f"unknown remote_jwks op {case['op']!r}"
    o = case["options"]
    with HttpsServer() as server:
        clock = authgate.ManualClock(case["start"])
        kwargs: dict[str, Any] = dict(
            ttl=o["ttl"], cooldown=o["cooldown"], max_stale=o["max_stale"], ca_cert_pem=server.ca, clock=clock
        )
        if "timeout_ms" in o:
            kwargs["timeout"] = o["timeout_ms"] / 1000
        if "discover" in case:
            client = authgate.RemoteJwks.discover(server.url(case["discover"]), **kwargs)
        else:
            client = authgate.RemoteJwks(server.url("/jwks.json"), **kwargs)
        names = {"issuers": "issuer", "audiences": "audience"}
        validation = {names.get(k, k): v for k, v in case.get("validation", {}).items()}
        for i, step in enumerate(case["steps"]):
            do = step["do"]
            if do == "serve":
                server.set(step["path"], step["body"].replace("{base}", server.base), step["status"], step["delay_ms"])
            elif do == "advance":
                clock.advance(step["seconds"])
            elif do == "verify":
                token = TOKENS[step["token"]]
                got = _expect(step["expect"], lambda: client.verify(token, now=clock.now(), **validation))
                if "error" not in step["expect"]:
                    for name, value in step["expect"].items():
                        assert got[name] == value, (i, name)
            elif do == "refresh":
                _expect(step["expect"], client.refresh)
            elif do == "hits":
                assert server.hits(step["path"]) == step["expect"], (i, step)
            elif do == "status":
                st, want = client.status(), step["expect"]
                got = {k: st[k] for k in ("kids", "stale", "fetches", "failures")}
                assert got == {k: want[k] for k in got}, (i, st)
                if "last_error" in want:
                    assert st["last_error"].code == want["last_error"]
            else:
                raise AssertionError(f"unknown step {do!r}")
