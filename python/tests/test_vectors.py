"""Every conformance vector in tests/vectors (the files every runtime loads), through the
Python package. An unknown area or op fails: a new kind of vector cannot be skipped."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from typing import Any

import gate_vectors
import pytest
from conftest import VECTORS
from limits_vectors import run_allowlist, run_password, run_ratelimit
from otp_vectors import run_otp
from pop_vectors import run_pop, run_remote_jwks
from stores import new_store, on_redis, on_redis_now, require_redis

import authgate
from authgate import _authgate

Case = dict[str, Any]


def load() -> list[tuple[str, str, Case]]:
    out = []
    for path in sorted(VECTORS.rglob("*.json")):
        doc = json.loads(path.read_text())
        for case in doc["cases"]:
            out.append((doc["area"], f"{path.relative_to(VECTORS)}: {case['name']}", case))
    return out


CASES = load()


def expect(case: Case, run: Callable[[], Any], check: Callable[[Any, Any], None] = lambda _v, _e: None) -> None:
    want = case["expect"]
    if isinstance(want, dict) and "error" in want:
        with pytest.raises(authgate.AuthError) as info:
            run()
        assert info.value.code == want["error"], f"got {info.value.code}: {info.value}"
        assert type(info.value) is authgate.errors._BY_CODE[want["error"]]
    else:
        check(run(), want)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def key(spec: Case) -> authgate.Key:
    if "secret_b64" in spec:
        return authgate.Key.hmac(base64.b64decode(spec["secret_b64"]), spec["alg"], kid=spec.get("kid"))
    if "pem" in spec:
        return authgate.Key.from_pem(spec["pem"], spec["alg"], kid=spec.get("kid"))
    return authgate.Key.from_jwk(spec["jwk"], spec.get("alg"))


def keyset(specs: list[Case]) -> authgate.KeySet:
    ks = authgate.KeySet()
    for spec in specs:
        ks.add(key(spec), spec.get("status", "verify_only"))
    return ks


def validation(v: Case | None) -> dict[str, Any]:
    v = dict(v or {})
    kwargs: dict[str, Any] = {"now": v.pop("now", 1_700_000_000)}
    names = {"issuers": "issuer", "audiences": "audience"}
    for name, value in v.items():
        kwargs[names.get(name, name)] = value
    return kwargs


def run_jwt(case: Case) -> None:
    op = case["op"]
    if op == "verify":
        expect(
            case,
            lambda: keyset(case["keys"]).verify(case["token"], **validation(case.get("validation"))),
            lambda claims, want: _eq(claims, want["claims"]),
        )
    elif op == "verify_jws":

        def check(got: Any, want: Any) -> None:
            header, payload = got
            _eq(header, want["header"])
            _eq(b64(payload), want["payload_b64"])

        expect(case, lambda: keyset(case["keys"]).verify_jws(case["token"], algorithms=case.get("algorithms")), check)
    elif op == "sign":
        expect(
            case,
            lambda: key(case["key"]).sign(case["signing_input"].encode()),
            lambda sig, want: _eq(b64(sig), want["signature"]),
        )
    elif op == "verify_signature":
        signature = base64.urlsafe_b64decode(case["signature"] + "=" * (-len(case["signature"]) % 4))

        # 130 times with one key: a key's first and later verifications take different
        # routes in the core (Ed25519 builds a table of the key after 128 valid signatures).
        def verify_130_times():
            k = key(case["key"])
            return [k.verify(case["signing_input"].encode(), signature) for _ in range(130)]

        expect(case, verify_130_times, lambda valid, want: _eq(valid, [want["valid"]] * 130))
    elif op == "import_key":
        expect(case, lambda: key(case["key"]), lambda k, want: _eq(k.public_jwk(), want["public_jwk"]))
    elif op == "import_jwks":
        expect(case, lambda: authgate.KeySet().import_jwks(case["jwks"]), lambda kids, want: _eq(kids, want["kids"]))
    else:
        pytest.fail(f"unknown jwt op {op!r}")


def run_session(case: Case) -> None:
    c = dict(case["config"])
    capacity = c.pop("store_capacity", None)
    clock = authgate.ManualClock(case.get("start", 1_700_000_000))
    store = authgate.MemoryStore(capacity) if capacity is not None else new_store()
    if "error" in case.get("expect", {}):
        with pytest.raises(authgate.AuthError) as raised:
            authgate.SessionManager(keyset(case["keys"]), store=store, clock=clock, **c)
        assert raised.value.code == case["expect"]["error"]
        return
    manager = authgate.SessionManager(keyset(case["keys"]), store=store, clock=clock, **c)
    saved: dict[str, authgate.TokenPair] = {}
    for i, step in enumerate(case["steps"]):
        do = step["do"]
        try:
            if do == "advance":
                clock.advance(step["seconds"])
            elif do == "login":

                def check_login(r: authgate.LoginResult, want: Any, step: Case = step) -> None:
                    if "save" in step:
                        saved[step["save"]] = r.tokens
                    if "new_device" in want:
                        _eq(r.new_device, want["new_device"])

                expect(
                    step,
                    lambda step=step: manager.login(
                        step["user"], step["device"], device_name=step.get("device_name"), scope=step.get("scope")
                    ),
                    check_login,
                )
            elif do == "refresh":

                def check_refresh(p: authgate.TokenPair, _want: Any, step: Case = step) -> None:
                    if "save" in step:
                        saved[step["save"]] = p

                expect(step, lambda step=step: manager.refresh(saved[step["pair"]].refresh_token), check_refresh)
            elif do == "refresh_text":
                expect(step, lambda step=step: manager.refresh(step["token"]))
            elif do == "verify_access":

                def check_claims(claims: Any, want: Any) -> None:
                    for k, v in want["claims"].items():
                        _eq(claims.get(k), v)

                expect(step, lambda step=step: manager.verify_access(saved[step["pair"]].access_token), check_claims)
            elif do == "revoke":
                expect(
                    step,
                    lambda step=step: manager.revoke(saved[step["pair"]].session_id),
                    lambda r, w: _eq(r, w["result"]),
                )
            elif do == "revoke_all":
                expect(step, lambda step=step: manager.revoke_all(step["user"]), lambda n, w: _eq(n, w["count"]))
            elif do == "list":
                expect(
                    step,
                    lambda step=step: manager.list(step["user"]),
                    lambda listed, w: _eq([s.device_id for s in listed], w["devices"]),
                )
            else:
                pytest.fail(f"unknown session step {do!r}")
        except AssertionError as e:
            raise AssertionError(f"step {i} ({do}): {e}") from None


def run_apikey(case: Case) -> None:
    op = case["op"]
    if op == "parse":

        def check(p: authgate.ParsedApiKey, want: Any) -> None:
            _eq((p.prefix, p.id, p.last_four), (want["prefix"], want["id"], want["last_four"]))

        expect(case, lambda: authgate.parse_api_key(case["key"]), check)
    elif op == "scope_granted":
        _eq(authgate.scope_granted(case["granted"], case["required"]), case["expect"]["result"])
    elif op == "scenario":
        clock = authgate.ManualClock(case.get("start", 1_700_000_000))
        store = new_store()
        manager = authgate.ApiKeyManager(clock=clock, store=store, **case.get("manager", {}))
        # `issuer`: a second manager on the same store; `elsewhere`: one with its own store.
        managers = {
            None: manager,
            "issuer": authgate.ApiKeyManager(clock=clock, store=store, **case.get("issuer", {})),
            "elsewhere": authgate.ApiKeyManager(clock=clock, store=authgate.MemoryStore(), **case.get("elsewhere", {})),
        }
        saved: dict[str, tuple[str, str]] = {}
        for i, step in enumerate(case["steps"]):
            do = step["do"]
            try:
                if do == "advance":
                    clock.advance(step["seconds"])
                elif do == "create":

                    def check_create(r: tuple[str, authgate.ApiKeyRecord], want: Any, step: Case = step) -> None:
                        saved[step["save"]] = (r[0], r[1].id)
                        if "prefix" in want:
                            _eq(r[1].prefix, want["prefix"])

                    expires = clock.now() + step["expires_in"] if "expires_in" in step else None
                    by = managers[step.get("by")]
                    expect(
                        step,
                        lambda step=step, expires=expires, by=by: by.create(
                            prefix=step.get("prefix"),
                            scopes=step.get("scopes"),
                            expires_at=expires,
                            credits=step.get("credits"),
                            owner=step.get("owner"),
                            metadata=step.get("metadata"),
                        ),
                        check_create,
                    )
                elif do == "get":
                    record = manager.get(saved[step["key"]][1])
                    assert record is not None
                    for name, want in step["expect"].items():
                        _eq(getattr(record, name), want)
                elif do == "delete":
                    expect(
                        step,
                        lambda step=step: manager.delete(saved[step["key"]][1]),
                        lambda deleted, want: _eq(deleted, want["result"]),
                    )
                elif do == "import":
                    # The parts and SHA-256 `authgate keygen api-key --json` prints, computed here.
                    text = saved[step["key"]][0]
                    parts = authgate.parse_api_key(text)
                    digest = hashlib.sha256(text.encode()).hexdigest()
                    expect(
                        step,
                        lambda step=step, parts=parts, digest=digest: manager.import_key(
                            id=parts.id,
                            prefix=parts.prefix,
                            last_four=parts.last_four,
                            sha256=digest,
                            scopes=step.get("scopes"),
                            credits=step.get("credits"),
                            owner=step.get("owner"),
                        ),
                    )
                elif do == "verify":
                    expect(step, lambda step=step: manager.verify(saved[step["key"]][0], step.get("scope")))
                elif do == "verify_text":
                    expect(step, lambda step=step: manager.verify(step["text"]))
                elif do in ("revoke", "disable", "enable"):
                    expect(step, lambda step=step, do=do: getattr(manager, do)(saved[step["key"]][1]))
                elif do == "roll":

                    def check_roll(r: tuple[str, authgate.ApiKeyRecord], _want: Any, step: Case = step) -> None:
                        saved[step["save"]] = (r[0], r[1].id)

                    expect(step, lambda step=step: manager.roll(saved[step["key"]][1], step.get("grace")), check_roll)
                else:
                    pytest.fail(f"unknown apikey step {do!r}")
            except AssertionError as e:
                raise AssertionError(f"step {i} ({do}): {e}") from None
    else:
        pytest.fail(f"unknown apikey op {op!r}")


def run_client_token(case: Case) -> None:
    op = case["op"]
    if op == "verify":
        expect(
            case,
            lambda: authgate.ClientTokens(case["server_key"]).verify(case["token"], case["user"], now=case["now"]),
            lambda t, want: _eq((t.user, t.exp), (want["user"], want["exp"])),
        )
    elif op == "needs_refresh":
        _eq(authgate.needs_refresh(case["token"], now=case["now"], margin=case["margin"]), case["expect"]["result"])
    elif op == "new":
        expect(case, lambda: authgate.ClientTokens(case["server_key"]))
    elif op == "public_key":
        expect(
            case,
            lambda: authgate.ClientTokens(case["server_key"]).public_key,
            lambda k, want: _eq(base64.urlsafe_b64encode(k).rstrip(b"=").decode(), want["x"]),
        )
    elif op == "verify_stored":
        # The API's store holds the server key by its parts, SHA-256 and public key.
        manager = authgate.ApiKeyManager(store=new_store(), clock=authgate.ManualClock(case["now"]), prefix="ag_srv_")
        key = case["server_key"]
        parts = authgate.parse_api_key(key)
        record = manager.import_key(
            id=parts.id,
            prefix=parts.prefix,
            last_four=parts.last_four,
            sha256=hashlib.sha256(key.encode()).hexdigest(),
            client_token_key=case["client_token_key"],
        )
        if case.get("then"):
            getattr(manager, case["then"])(record.id)
        verifier = authgate.ClientTokenVerifier(manager)
        expect(
            case,
            lambda: verifier.verify(case["token"], case["user"], now=case["now"]),
            lambda t, want: _eq((t.user, t.exp), (want["user"], want["exp"])),
        )
    elif op == "verify_legacy":
        options = case["options"]
        expect(
            case,
            lambda: authgate.LegacyClientTokens(base64.b64decode(case["secret_b64"]), **options).verify(
                case["token"], case["user"], now=case["now"]
            ),
            lambda t, want: _eq((t.user, t.exp), (want["user"], want["exp"])),
        )
    else:
        pytest.fail(f"unknown client_token op {op!r}")


def run_http(case: Case) -> None:
    op = case["op"]
    if op == "bearer_token":
        expect(case, lambda: authgate.bearer_token(case["header"]), lambda t, w: _eq(t, w["token"]))
    elif op == "http_status":
        status, _ = _authgate.http_error(case["code"], "x")
        _eq(status, case["expect"]["status"])
        _, challenge = _authgate.http_error(case["code"], "x")
        if challenge is not None:
            assert f'error="{case["expect"]["bearer_error"]}"' in challenge
    elif op == "challenge":
        _eq(_authgate.http_error(case["code"], case["message"], case["realm"])[1], case["expect"]["challenge"])
    elif op == "refusal":
        status, headers, body = _authgate.http_refusal(
            case["code"], case["message"], case["retry_after"], case["realm"], None, case.get("violations")
        )
        _eq(status, case["expect"]["status"])
        _eq([list(h) for h in headers], case["expect"]["headers"])
        _eq(body, case["expect"]["body"].encode())
        # The same through the adapters' path: an AuthError whose details are attributes.
        from authgate.web import refusal_for

        if case["code"].lower() not in authgate.ERROR_CODES:
            return  # no exception class has an unknown code
        error = _authgate.error_for_code(case["code"].lower(), case["message"])
        error.retry_after = case["retry_after"]
        if case.get("violations"):
            error.violations = case["violations"]
        status, headers, body = refusal_for(error, case["realm"])
        _eq(
            (status, [list(h) for h in headers], body),
            (case["expect"]["status"], case["expect"]["headers"], case["expect"]["body"].encode()),
        )
    elif op == "request_url":
        expect(
            case,
            lambda: authgate.request_url(case["scheme"], case["host"], case["target"]),
            lambda u, w: _eq(u, w["url"]),
        )
    elif op == "gate_url":
        _eq(_authgate.gate_url(case["scheme"], case["host"], case["target"]), case["expect"]["url"])
    else:
        pytest.fail(f"unknown http op {op!r}")


def _eq(got: Any, want: Any) -> None:
    assert got == want, f"got {got!r}, want {want!r}"


def signature_key(spec: Case) -> authgate.SignatureKey:
    if spec["alg"] == "hmac-sha256":
        return authgate.SignatureKey.hmac_sha256(base64.b64decode(spec["secret_b64"]))
    assert spec["alg"] == "ed25519", spec
    return authgate.SignatureKey.ed25519_pem(spec["pem"])


def request_parts(r: Case) -> tuple[str, str, list[tuple[str, str]], bytes]:
    return r["method"], r["url"], [(n, v) for n, v in r["headers"]], r["body"].encode()


def run_signature(case: Case) -> None:
    op = case["op"]
    if op == "sign":
        method, url, headers, body = request_parts(case["request"])

        def check(got: Any, want: Any) -> None:
            _eq(got["Signature-Input"], want["signature_input"])
            _eq(got["Signature"], want["signature"])

        expect(
            case,
            lambda: authgate.sign_request(
                signature_key(case["key"]),
                method,
                url,
                headers,
                body,
                label=case["label"],
                components=case["components"],
                digest=case.get("digest"),
                **case["params"],
            ),
            check,
        )
    elif op in ("verify", "replay"):
        keys = {keyid: signature_key(spec) for keyid, spec in case["keys"].items()}
        verifier = authgate.RequestVerifier(
            keys, clock=authgate.ManualClock(case["now"]), store=new_store(), **case.get("policy", {})
        )
        method, url, headers, body = request_parts(case["request"])
        select = case.get("select", {})

        def run() -> authgate.VerifiedSignature:
            return verifier.verify(method, url, headers, body, label=select.get("label"), keyid=select.get("keyid"))

        if op == "replay":
            run()

        def check(got: Any, want: Any) -> None:
            _eq(
                {"label": got.label, "keyid": got.keyid, "algorithm": got.algorithm, "components": got.components}, want
            )

        expect(case, run, check)
    elif op == "content_digest":
        _eq(authgate.content_digest(case["body"].encode(), case["algorithm"]), case["expect"]["value"])
    elif op == "verify_content_digest":
        expect(case, lambda: authgate.verify_content_digest(case["field"], case["body"].encode()))
    else:
        raise AssertionError(f"unknown signature op {op!r}")


def run_webhook(case: Case) -> None:
    op = case["op"]
    if op == "sign":
        expect(
            case,
            lambda: authgate.sign_webhook(case["keys"], case["id"], case["timestamp"], case["payload"].encode()),
            lambda got, want: _eq(got, want["signature"]),
        )
    elif op in ("verify", "replay"):

        def run(now: int) -> authgate.VerifiedWebhook:
            verifier = authgate.WebhookVerifier(
                case["keys"],
                tolerance=case.get("tolerance", 300),
                id_retention=case.get("id_retention"),
                store=store,
                clock=authgate.ManualClock(now),
            )
            return verifier.verify([(n, v) for n, v in case["headers"]], case["payload"].encode())

        store = new_store()
        at = case["now"]
        if op == "replay":
            run(at)
            at = case.get("replay_now", at)
        expect(
            case,
            lambda: run(at),
            lambda got, want: _eq({"id": got.id, "timestamp": got.timestamp, "version": got.version}, want),
        )
    elif op == "parse_key":
        expect(
            case,
            lambda: authgate.WebhookKey(case["key"]),
            lambda k, want: _eq({"version": k.version, "can_sign": k.can_sign, "public_key": k.public_key}, want),
        )
    else:
        raise AssertionError(f"unknown webhook op {op!r}")


def run_gate(case: Case) -> None:
    # Twice, each on a fresh gate: through `authenticate` (a refusal raised) and through
    # `check` (a refusal returned).
    for send in (gate_vectors.direct, gate_vectors.decided):
        holder: dict[str, Any] = {}
        gate_vectors.run(
            case, lambda m, p, h, send=send: send(holder["gate"])(m, p, h), lambda gate: holder.update(gate=gate)
        )


RUNNERS = {
    "gate": run_gate,
    "jwt": run_jwt,
    "session": run_session,
    "apikey": run_apikey,
    "client_token": run_client_token,
    "http": run_http,
    "signature": run_signature,
    "webhook": run_webhook,
    "otp": run_otp,
    "ratelimit": run_ratelimit,
    "allowlist": run_allowlist,
    "password": run_password,
    "pop": run_pop,
    "remote_jwks": run_remote_jwks,
}

#: Areas whose capability this package does not ship, with where they are tested instead.
ELSEWHERE = {"token_manager": "the client-side token manager ships in the mobile crate; Rust and Kotlin run these"}


@pytest.mark.parametrize("area,name,case", CASES, ids=[c[1] for c in CASES])
def test_vector(area: str, name: str, case: Case) -> None:
    if area in ELSEWHERE:
        pytest.skip(ELSEWHERE[area])
    runner = RUNNERS.get(area)
    assert runner is not None, f"unknown vector area {area!r}"
    runner(case)


#: The areas whose vectors keep state in a store: run again with every store on Redis.
STATEFUL = ("pop", "session", "apikey", "signature", "webhook", "otp", "ratelimit")
STATEFUL_CASES = [c for c in CASES if c[0] in STATEFUL and "store_capacity" not in c[2].get("config", {})]


@pytest.mark.parametrize("area,name,case", STATEFUL_CASES, ids=[c[1] for c in STATEFUL_CASES])
def test_vector_on_redis(area: str, name: str, case: Case) -> None:
    url = require_redis()
    with on_redis(url):
        assert on_redis_now()
        RUNNERS[area](case)


def test_vectors_were_found() -> None:
    assert len(CASES) > 150
