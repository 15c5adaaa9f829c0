"""Every public function, constructor and method of the native module, called with hostile
arguments — wrong types, None, empty, huge (10 MB) and non-UTF-8 values, in every position
up to three arguments — returns or raises an ordinary exception. Never a crash, a hang or a
panic reaching Python (PyO3's PanicException derives from BaseException, so it would escape
the `except Exception` below and fail the test)."""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from typing import Any

import pytest

import authgate
from authgate import _authgate

HUGE = 10 * 1024 * 1024
HOSTILE: list[Any] = [
    None,
    "",
    b"",
    "x" * HUGE,
    b"\xff" * HUGE,
    b"\xff\xfe\xfd",
    "\ud800",
    "\x00",
    -1,
    2**70,
    1.5,
    float("nan"),
    [],
    {},
    [None],
    {"k": None},
    object(),
]
SECRET = b"0123456789abcdef0123456789abcdef"


def samples() -> dict[str, Callable[[], Any]]:
    """A valid instance of each class whose methods get called."""
    keys = authgate.KeySet([authgate.Key.hmac(SECRET, kid="k")])
    store = authgate.MemoryStore()
    return {
        "CoreGate": lambda: authgate.CoreGate(api_keys=authgate.ApiKeyManager(), limiter=authgate.RateLimiter()),
        "ApiKeyManager": lambda: authgate.ApiKeyManager(),
        "Challenges": lambda: authgate.Challenges(lambda d: None),
        "ClientIpResolver": lambda: authgate.ClientIpResolver(["10.0.0.0/8"]),
        "ClientTokens": lambda: authgate.ClientTokens(authgate.ApiKeyManager(prefix="ag_srv_").create()[0]),
        "ClientTokenVerifier": lambda: authgate.ClientTokenVerifier(authgate.ApiKeyManager(prefix="ag_srv_")),
        "LegacyClientTokens": lambda: authgate.LegacyClientTokens(SECRET),
        "DpopVerifier": lambda: authgate.DpopVerifier(),
        "RemoteJwks": lambda: authgate.RemoteJwks("https://127.0.0.1:1/jwks.json", timeout=0.2),
        "Enrollment": lambda: authgate.TotpManager(store).begin_enrollment("alice"),
        "Hotp": lambda: authgate.Hotp(SECRET),
        "IpAllowlist": lambda: authgate.IpAllowlist(["10.0.0.0/8"]),
        "IpAllowlists": lambda: authgate.IpAllowlists(),
        "Key": lambda: authgate.Key.hmac(SECRET, kid="k"),
        "KeySet": lambda: keys,
        "ManualClock": lambda: authgate.ManualClock(1_700_000_000),
        "PasswordHasher": lambda: authgate.PasswordHasher(memory_kib=1024, iterations=1),
        "PasswordPolicy": lambda: authgate.PasswordPolicy(),
        "QrCode": lambda: authgate.QrCode("hello"),
        "RateLimiter": lambda: authgate.RateLimiter(),
        "RatePolicy": lambda: authgate.RatePolicy(10, 60),
        "RecoveryCodes": lambda: authgate.RecoveryCodes(store),
        "CodeLockout": lambda: authgate.CodeLockout(store),
        "RedisStore": lambda: authgate.RedisStore("redis://127.0.0.1:1", connect_timeout=0.2),
        "RequestSigner": lambda: authgate.RequestSigner("k", authgate.SignatureKey.hmac_sha256(SECRET)),
        "RequestVerifier": lambda: authgate.RequestVerifier({"k": authgate.SignatureKey.hmac_sha256(SECRET)}),
        "SessionManager": lambda: authgate.SessionManager(keys),
        "SignatureKey": lambda: authgate.SignatureKey.hmac_sha256(SECRET),
        "Totp": lambda: authgate.Totp(SECRET),
        "TotpManager": lambda: authgate.TotpManager(store),
        "Verifier": lambda: keys.verifier(),
        "WebhookKey": lambda: authgate.WebhookKey(authgate.WebhookKey.generate_secret()),
        "WebhookVerifier": lambda: authgate.WebhookVerifier([authgate.WebhookKey.generate_secret()]),
    }


def call_hostile(fn: Callable[..., Any], name: str) -> int:
    calls = 0
    for arity in range(4):
        for value in HOSTILE:
            for position in range(max(arity, 1)):
                args = [value if i == position else "a" for i in range(arity)]
                started = time.monotonic()
                try:
                    fn(*args)
                except Exception:
                    pass
                assert time.monotonic() - started < 10, f"{name} took too long"
                calls += 1
                if arity == 0:
                    break
            if arity == 0:
                break
    return calls


def public_callables() -> list[tuple[str, Callable[..., Any]]]:
    out: list[tuple[str, Callable[..., Any]]] = []
    made = samples()
    for name in sorted(dir(_authgate)):
        obj = getattr(_authgate, name)
        if name.startswith("_") or (inspect.isclass(obj) and issubclass(obj, BaseException)):
            continue
        if inspect.isclass(obj):
            out.append((f"{name}()", obj))
            if name in made:
                instance = made[name]()
                for attr in dir(obj):
                    if not attr.startswith("_") and callable(getattr(obj, attr, None)):
                        out.append((f"{name}.{attr}", getattr(instance, attr)))
        elif callable(obj):
            out.append((name, obj))
    return out


def test_every_class_with_methods_has_a_sample() -> None:
    made = samples()
    for name in dir(_authgate):
        obj = getattr(_authgate, name)
        if inspect.isclass(obj) and not issubclass(obj, BaseException) and not name.startswith("_"):
            methods = [a for a in dir(obj) if not a.startswith("_") and callable(getattr(obj, a, None))]
            assert not methods or name in made, f"{name} has methods but no sample instance"


@pytest.mark.parametrize("name,fn", public_callables(), ids=lambda x: x if isinstance(x, str) else "")
def test_hostile_arguments_raise_ordinary_exceptions(name: str, fn: Callable[..., Any]) -> None:
    assert call_hostile(fn, name) > 0


def test_the_package_still_works_afterwards() -> None:
    keys = authgate.KeySet([authgate.Key.hmac(SECRET, kid="k")])
    assert keys.verify(keys.sign({"exp": 4_000_000_000}))["exp"] == 4_000_000_000


def test_no_message_repeats_a_rejected_value() -> None:
    secret = b"top-secret-key-material" + b"A" * HUGE
    keys = authgate.KeySet([authgate.Key.hmac(SECRET, kid="k")])
    attempts: list[Callable[[], Any]] = [
        lambda: keys.verify(secret),  # type: ignore[arg-type]
        lambda: authgate.RateLimiter().check(secret),  # type: ignore[arg-type]
        lambda: authgate.parse_api_key(secret),  # type: ignore[arg-type]
        lambda: authgate.bearer_token(secret),  # type: ignore[arg-type]
        lambda: authgate.base32_decode(secret),  # type: ignore[arg-type]
        lambda: authgate.Key.hmac(secret.decode(), kid="x" * HUGE),
    ]
    for attempt in attempts:
        with pytest.raises(Exception) as info:
            attempt()
        assert "top-secret" not in str(info.value) and len(str(info.value)) < 1000
