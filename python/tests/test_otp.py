"""One-time codes through the Python package: interoperability with pyotp, QR output,
sender hooks and the exceptions' retry_after (the vectors are in test_vectors.py)."""

from __future__ import annotations

import asyncio
import struct
import zlib

import pyotp
import pytest

import authgate
from authgate.web import Gate

NOW = 1_700_000_000


def test_pyotp_and_authgate_compute_the_same_codes() -> None:
    secret = authgate.generate_otp_secret()
    assert len(authgate.base32_decode(secret)) == 20
    ours, theirs = authgate.Totp(secret), pyotp.TOTP(secret)
    for t in (0, 59, NOW, NOW + 29, NOW + 30, 2_000_000_000):
        assert ours.at(t) == theirs.at(t)
        assert ours.verify(theirs.at(t), time=t) == t // 30
    for digits, alg, digest in ((8, "SHA256", "sha256"), (7, "SHA512", "sha512")):
        ours = authgate.Totp(secret, algorithm=alg, digits=digits, period=60)
        theirs = pyotp.TOTP(secret, digits=digits, digest=digest, interval=60)
        assert ours.at(NOW) == theirs.at(NOW)
    hotp, their_hotp = authgate.Hotp(secret), pyotp.HOTP(secret)
    assert [hotp.at(c) for c in range(20)] == [their_hotp.at(c) for c in range(20)]
    assert hotp.verify(their_hotp.at(7), 5) == 8


def test_provisioning_uris_are_read_by_pyotp_and_the_other_way_round() -> None:
    secret = authgate.generate_otp_secret()
    uri = authgate.Totp(secret, digits=8).provisioning_uri("alice@example.com", issuer="ACME Co")
    parsed = pyotp.parse_uri(uri)
    assert isinstance(parsed, pyotp.TOTP)
    assert (parsed.secret, parsed.name, parsed.issuer, parsed.digits) == (secret, "alice@example.com", "ACME Co", 8)
    assert parsed.now() == authgate.Totp.from_uri(uri).now()

    theirs = pyotp.TOTP(secret).provisioning_uri(name="bob@example.com", issuer_name="Example Inc")
    ours = authgate.parse_otpauth_uri(theirs)
    assert (ours.kind, ours.account, ours.issuer, ours.secret) == ("totp", "bob@example.com", "Example Inc", secret)
    hotp_uri = pyotp.HOTP(secret).provisioning_uri(name="carol", issuer_name="X", initial_count=4)
    assert authgate.parse_otpauth_uri(hotp_uri).counter == 4


def _png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    length, kind = struct.unpack(">I4s", png[8:16])
    assert (length, kind) == (13, b"IHDR")
    assert zlib.crc32(png[12:29]) == struct.unpack(">I", png[29:33])[0]
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def test_enrollment_qr_code_renders_three_ways() -> None:
    manager = authgate.TotpManager(issuer="ACME")
    enrollment = manager.begin_enrollment("alice")
    qr = enrollment.qr()
    side = qr.width + 8
    assert _png_size(qr.png(scale=3)) == (side * 3, side * 3)
    assert qr.svg().startswith("<svg") and f'viewBox="0 0 {side} {side}"' in qr.svg()
    lines = qr.text().splitlines()
    assert len(lines) == (qr.width + 4 + 1) // 2 and all(len(line) == qr.width + 4 for line in lines)
    with pytest.raises(authgate.InvalidInput):
        qr.png(scale=0)
    assert enrollment.secret not in repr(enrollment)


def test_manager_round_trip_with_the_app_keeping_the_secret() -> None:
    clock = authgate.ManualClock(NOW)
    manager = authgate.TotpManager(issuer="ACME", clock=clock)
    enrollment = manager.begin_enrollment("alice")
    secret = manager.confirm_enrollment("alice", pyotp.TOTP(enrollment.secret).at(NOW))
    assert secret == enrollment.secret
    clock.advance(30)
    code = pyotp.TOTP(secret).at(NOW + 30)
    assert manager.verify("alice", secret, code) == (NOW + 30) // 30
    with pytest.raises(authgate.CodeReused):
        manager.verify("alice", secret, code)
    # Raw bytes are accepted as well as base32.
    with pytest.raises(authgate.CodeReused):
        manager.verify("alice", authgate.base32_decode(secret), code)


def test_throttling_errors_carry_retry_after_and_map_to_429() -> None:
    clock = authgate.ManualClock(NOW)
    manager = authgate.TotpManager(throttle=authgate.ThrottlePolicy(free_failures=1, base_delay=45), clock=clock)
    secret = authgate.generate_otp_secret()
    wrong = next(
        f"{n:06}" for n in range(10**6) if f"{n:06}" not in {pyotp.TOTP(secret).at(NOW + d) for d in (-30, 0, 30)}
    )
    with pytest.raises(authgate.InvalidCode):
        manager.verify("bob", secret, wrong)
    with pytest.raises(authgate.TooManyAttempts) as info:
        manager.verify("bob", secret, pyotp.TOTP(secret).at(NOW))
    assert info.value.retry_after == 45 and isinstance(info.value, authgate.OtpError)
    status, headers, _ = Gate(keys=authgate.KeySet()).error_response(info.value)
    assert status == 429 and ("retry-after", "45") in headers
    assert not any(name == "www-authenticate" for name, _ in headers)


def test_a_sender_that_raises_gives_delivery_failed_with_the_cause() -> None:
    def broken(_delivery: authgate.CodeDelivery) -> None:
        raise ConnectionError("gateway down")

    challenges = authgate.Challenges(broken)
    with pytest.raises(authgate.DeliveryFailed) as info:
        challenges.issue("login:alice", "+15550100")
    assert isinstance(info.value.__cause__, ConnectionError)

    async def asynchronous(_delivery: authgate.CodeDelivery) -> None:
        await asyncio.sleep(0)

    with pytest.raises(authgate.DeliveryFailed) as info:
        authgate.Challenges(asynchronous).issue("login:alice", "+15550100")
    assert isinstance(info.value.__cause__, TypeError)
    with pytest.raises(TypeError):
        authgate.Challenges("not callable")  # type: ignore[arg-type]


def test_deliveries_never_show_the_code_in_their_repr() -> None:
    seen: list[authgate.CodeDelivery] = []
    challenges = authgate.Challenges(seen.append, digits=8)
    issued = challenges.issue("login:alice", "alice@example.com")
    (delivery,) = seen
    assert len(delivery.code) == 8 and delivery.code not in repr(delivery)
    assert issued.attempts_left == 5
    challenges.verify("login:alice", delivery.code)


def test_recovery_codes_with_a_fixed_key_survive_a_new_manager() -> None:
    store = authgate.MemoryStore()
    key = b"k" * 32
    codes = authgate.RecoveryCodes(store, hash_key=key).generate("alice")
    assert authgate.RecoveryCodes(store, hash_key=key).verify("alice", codes[0].upper()) == 9
    with pytest.raises(authgate.InvalidCode):
        authgate.RecoveryCodes(store, hash_key=b"x" * 32).verify("alice", codes[1])
    with pytest.raises(authgate.WeakKey):
        authgate.RecoveryCodes(store, hash_key=b"short")


def test_bad_arguments_raise_typed_errors() -> None:
    with pytest.raises(TypeError):
        authgate.Totp(12345)  # type: ignore[arg-type]
    with pytest.raises(authgate.InvalidKey):
        authgate.Totp("not base32!")
    with pytest.raises(authgate.InvalidInput):
        authgate.Totp(authgate.generate_otp_secret(), algorithm="MD5")
    with pytest.raises(authgate.InvalidInput):
        authgate.parse_otpauth_uri("otpauth://totp/" + "a" * 5000)
    with pytest.raises(authgate.InvalidCode):
        authgate.Totp(authgate.generate_otp_secret()).verify("1" * 10_000_000)
