"""Error mapping (every core code → its own class under AuthError), Python type edges, and
hostile input: wrong types, None, empty, huge and non-UTF-8 values give exceptions, never
a crash."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest

import authgate
from authgate import _authgate
from authgate.errors import _BY_CODE

SECRET = b"0123456789abcdef0123456789abcdef"


@pytest.fixture
def keys() -> authgate.KeySet:
    return authgate.KeySet([authgate.Key.hmac(SECRET, kid="k")])


def test_every_core_error_code_has_its_own_class() -> None:
    assert sorted(_BY_CODE) == sorted(authgate.ERROR_CODES)
    classes = set()
    for code in authgate.ERROR_CODES:
        cls = _BY_CODE[code]
        assert issubclass(cls, authgate.AuthError) and cls is not authgate.AuthError
        assert cls.code == code
        classes.add(cls)
        raised = _authgate.error_for_code(code, "message")
        assert type(raised) is cls and raised.code == code and str(raised) == "message"
        assert getattr(authgate, cls.__name__) is cls
    assert len(classes) == len(authgate.ERROR_CODES)


def test_error_families_match_the_core() -> None:
    bases = {
        "token": authgate.TokenError,
        "key_material": authgate.KeyMaterialError,
        "session": authgate.SessionError,
        "api_key": authgate.ApiKeyError,
        "signature": authgate.SignatureError,
        "otp": authgate.OtpError,
        "client": authgate.ClientError,
        "auth": authgate.AuthError,
    }
    for code, family in _authgate.ERROR_FAMILIES.items():
        assert _BY_CODE[code].__bases__[0] is bases[family], code


def test_groups_and_builtin_bases() -> None:
    assert issubclass(authgate.TokenExpired, authgate.TokenError)
    assert issubclass(authgate.RefreshTokenReused, authgate.SessionError)
    assert issubclass(authgate.ApiKeyRevoked, authgate.ApiKeyError)
    assert issubclass(authgate.InvalidInput, ValueError)
    with pytest.raises(authgate.AuthError):
        authgate.parse_api_key("nope")


def test_messages_hold_no_secret(keys: authgate.KeySet) -> None:
    token = keys.sign({"exp": 1})
    with pytest.raises(authgate.TokenExpired) as info:
        keys.verify(token)
    assert token.split(".")[2] not in str(info.value) and "0123456789" not in repr(info.value)


@pytest.mark.parametrize("bad", [None, 42, 4.2, ["a.b.c"], {"t": 1}, object()])
def test_wrong_token_types_raise_type_error(keys: authgate.KeySet, bad: object) -> None:
    with pytest.raises(TypeError):
        keys.verify(bad)  # type: ignore[arg-type]


def test_token_edges(keys: authgate.KeySet) -> None:
    for token in ["", "a", "a.b", "a.b.c.d", "\u00e9.\u00e9.\u00e9", "." * 1000]:
        with pytest.raises(authgate.TokenError):
            keys.verify(token)
    with pytest.raises(authgate.TokenTooLarge):
        keys.verify("a" * 10_000_000)
    with pytest.raises(ValueError):
        keys.verify(b"\xff\xfe.\x00.x")
    # bytes tokens are accepted as ASCII text
    token = keys.sign({"exp": int(time.time()) + 60})
    assert keys.verify(token.encode())["exp"] > 0


def test_claims_conversion_edges(keys: authgate.KeySet) -> None:
    exp = int(time.time()) + 60
    claims = {
        "exp": exp,
        "n": -5,
        "big": 2**63,
        "f": 0.5,
        "t": True,
        "none": None,
        "list": [1, "a", [2]],
        "nested": {"x": {"y": "z"}},
        "uni": "h\u00e9llo \u2603",
    }
    assert keys.verify(keys.sign(claims)) == claims
    with pytest.raises(ValueError):
        keys.sign({"exp": exp, "huge": 2**64})
    with pytest.raises(ValueError):
        keys.sign({"exp": exp, "nan": float("nan")})
    with pytest.raises(TypeError):
        keys.sign({1: "int key"})  # type: ignore[dict-item]
    with pytest.raises(TypeError):
        keys.sign({"exp": exp, "when": datetime.now()})
    deep: dict[str, object] = {}
    cursor = deep
    for _ in range(200):
        cursor["d"] = {}
        cursor = cursor["d"]  # type: ignore[assignment]
    with pytest.raises(ValueError):
        keys.sign(deep)
    with pytest.raises(authgate.InvalidClaim):
        keys.sign({"exp": "tomorrow"})
    with pytest.raises(TypeError):
        keys.sign("not a dict")  # type: ignore[arg-type]


def test_times_as_datetime_and_timedelta(keys: authgate.KeySet) -> None:
    token = keys.sign({"exp": 1_700_000_060})
    assert keys.verify(token, now=datetime.fromtimestamp(1_700_000_000, tz=timezone.utc))
    with pytest.raises(authgate.TokenExpired):
        keys.verify(token, now=datetime.fromtimestamp(1_700_000_090, tz=timezone.utc), leeway=timedelta(seconds=29))
    with pytest.raises(ValueError):
        keys.verify(token, now=datetime(2023, 11, 14))  # naive: ambiguous
    with pytest.raises(TypeError):
        keys.verify(token, now="now")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        keys.verify(token, now=-1)
    with pytest.raises(ValueError):
        keys.verify(token, leeway=-5)


def test_keys_from_bytes_and_str() -> None:
    assert authgate.Key.hmac(SECRET).alg == "HS256"
    assert authgate.Key.hmac(SECRET.decode()).alg == "HS256"
    with pytest.raises(authgate.WeakKey):
        authgate.Key.hmac(b"short")
    with pytest.raises(authgate.AlgorithmNotAllowed):
        authgate.Key.hmac(SECRET, "none")
    with pytest.raises(TypeError):
        authgate.Key.hmac(None)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        authgate.Key.from_pem(b"\xff" * 100, "ES256")
    with pytest.raises(authgate.InvalidKey):
        authgate.Key.from_pem("not a pem", "ES256")
    with pytest.raises(ValueError):
        authgate.Key.from_jwk("[1, 2]")


def test_defaults_come_from_the_core() -> None:
    assert authgate.DEFAULT_LEEWAY_SECS == 30
    assert authgate.DEFAULT_MAX_TOKEN_BYTES == 8192
    assert authgate.DEFAULT_ACCESS_TTL_SECS == 900


def test_a_prebuilt_verifier_checks_like_verify(keys: authgate.KeySet) -> None:
    verifier = keys.verifier(issuer="https://auth.example", audience=["api"], required_scopes="read")
    good = keys.sign(
        {"iss": "https://auth.example", "aud": "api", "scope": "read", "exp": 1_700_000_060, "x": [1, {"y": None}]}
    )
    assert verifier.verify(good, 1_700_000_000) == keys.verify(
        good, issuer="https://auth.example", audience="api", now=1_700_000_000
    )
    with pytest.raises(authgate.TokenExpired):
        verifier.verify(good, 1_700_000_100)
    with pytest.raises(authgate.InvalidIssuer):
        verifier.verify(keys.sign({"iss": "other", "aud": "api", "scope": "read", "exp": 1_700_000_060}), 1_700_000_000)
    with pytest.raises(authgate.InsufficientScope):
        verifier.verify(keys.sign({"iss": "https://auth.example", "aud": "api", "exp": 1_700_000_060}), 1_700_000_000)
    with pytest.raises(authgate.MalformedToken):
        verifier.verify(
            keys.sign({"iss": "https://auth.example", "aud": "api", "scope": "read", "exp": 1_700_000_060}).replace(
                ".", "..", 1
            )
        )


def test_errors_carry_their_details_as_data() -> None:
    # The HTTP status of each class is the core's table (RFC 6750 §3.1, RFC 6585, RFC 9110).
    assert (authgate.TokenExpired.http_status, authgate.InsufficientScope.http_status) == (401, 403)
    assert (authgate.RateLimited.http_status, authgate.WeakPassword.http_status) == (429, 400)
    assert (authgate.StoreUnavailable.http_status, authgate.InternalError.http_status) == (503, 500)
    # Violations of a password policy: a list of the broken rules' codes.
    with pytest.raises(authgate.WeakPassword) as weak:
        authgate.PasswordPolicy().enforce("abc")
    assert "too_short" in weak.value.violations
    # Retry-after of a limit: 1 per minute, the second request waits 60 s.
    limiter = authgate.RateLimiter(clock=authgate.ManualClock(1_700_000_000))
    limiter.set_policy("one", authgate.RatePolicy.parse("1/minute"))
    limiter.enforce("k", policy="one")
    with pytest.raises(authgate.RateLimited) as limited:
        limiter.enforce("k", policy="one")
    assert (limited.value.retry_after, limited.value.violations) == (60, [])
