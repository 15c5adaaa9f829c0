"""The `gate` area of the conformance vectors (tests/vectors/http/gate.json): a gate built
from each case's spec, every step's request sent by a caller-given function, and the
answer compared with the vector: status, the listed headers, absent headers, body bytes."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Optional

from conftest import VECTORS

import authgate
from authgate.web import Gate

GATE_FILE = VECTORS / "http" / "gate.json"
GATES: dict[str, Any] = json.loads(GATE_FILE.read_text())["gates"]
CASES: list[dict[str, Any]] = json.loads(GATE_FILE.read_text())["cases"]

#: (status, lower-case header name -> values, body)
Answer = tuple[int, dict[str, list[str]], bytes]
#: Sends (method, path, headers) to the gate under test.
Send = Callable[[str, str, list[tuple[str, str]]], Answer]


def build(spec: dict[str, Any]) -> tuple[Gate, str]:
    """The vector's gate, and the API key made for it (scopes ["read"])."""
    options: dict[str, Any] = {"realm": spec.get("realm")}
    if "trusted_proxies" in spec:
        options["client_ip"] = authgate.ClientIpResolver(spec["trusted_proxies"])
    if "allowlist" in spec:
        options["allowlist"] = authgate.IpAllowlist(spec["allowlist"])
    if "tokens" in spec:
        t = spec["tokens"]
        options["keys"] = authgate.KeySet([authgate.Key.hmac(t["hs256_secret"].encode(), "HS256")])
        options["issuer"] = t["issuer"]
        for name in ("audience", "accept_any_audience", "accept_id_tokens"):
            if name in t:
                options[name] = t[name]
    if "scopes" in spec:
        options["scopes"] = spec["scopes"]
    store = authgate.MemoryStore()
    manager = authgate.ApiKeyManager(store=store)
    api_key, _ = manager.create(scopes=["read"])
    if "api_keys" in spec:
        options["api_keys"] = manager
        options["api_key_in_authorization"] = spec["api_keys"].get("in_authorization", False)
    if "limiter" in spec:
        lim = spec["limiter"]
        limiter = authgate.RateLimiter(store, clock=authgate.ManualClock(lim["now"]))
        for name, text in lim["policies"].items():
            limiter.set_policy(name, authgate.RatePolicy.parse(text))
        options["limiter"] = limiter
    return Gate(**options), api_key


def fill(text: str, api_key: str) -> str:
    typo = api_key[:-1] + ("b" if api_key[-1] == "a" else "a")
    return text.replace("{api_key_typo}", typo).replace("{api_key}", api_key)


def run(case: dict[str, Any], send: Send, gate_holder: Optional[Callable[[Gate], None]] = None) -> Gate:
    """Runs a case; ``gate_holder`` receives the fresh gate before the first step (servers
    whose app holds a switchable gate)."""
    gate, api_key = build(GATES[case["gate"]])
    if gate_holder is not None:
        gate_holder(gate)
    for i, step in enumerate(case["steps"], 1):
        r = step["request"]
        headers = [(n, fill(v, api_key)) for n, v in r["headers"]]
        status, got, body = send(r["method"], r["path"], headers)
        want = step["expect"]
        at = f"{case['name']}, step {i}"
        assert status == want["status"], (at, status, body)
        for name, value in want.get("headers", {}).items():
            assert got.get(name) == [value], (at, name, got.get(name), value)
        for name in want.get("absent", []):
            assert name not in got, (at, name, got.get(name))
        if "body" in want:
            assert body == want["body"].encode(), (at, body, want["body"])
    return gate


def direct(gate: Gate) -> Send:
    """Through ``Gate.authenticate`` and ``Gate.error_response`` with no server: peer
    127.0.0.1, as the vectors say."""

    def send(method: str, path: str, headers: list[tuple[str, str]]) -> Answer:
        lookup: dict[str, str] = {}
        for name, value in headers:  # repeated lines joined, as a WSGI server does
            lookup[name] = f"{lookup[name]}, {value}" if name in lookup else value
        try:
            context = gate.authenticate(lookup.get, "127.0.0.1", method=method, url=f"http://localhost{path}")
        except authgate.AuthError as error:
            status, out, body = gate.error_response(error)
            return status, _multi(out), body
        return 200, _multi(gate.response_headers(context)), b""

    return send


def decided(gate: Gate) -> Send:
    """Through ``Gate.check``, which returns a refusal instead of raising it: the same
    answers as :func:`direct`, byte for byte."""

    def send(method: str, path: str, headers: list[tuple[str, str]]) -> Answer:
        lookup: dict[str, str] = {}
        for name, value in headers:
            lookup[name] = f"{lookup[name]}, {value}" if name in lookup else value
        outcome = gate.check(lookup.get, "127.0.0.1", method=method, url=f"http://localhost{path}")
        if isinstance(outcome, authgate.GateRefusal):
            status, out, body = outcome.response
            assert (outcome.status, outcome.headers, outcome.body) == (status, out, body)
            return status, _multi(out), body
        return 200, _multi(gate.response_headers(outcome)), b""

    return send


def _multi(headers: list[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, value in headers:
        out.setdefault(name.lower(), []).append(value)
    return out
