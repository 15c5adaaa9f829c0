"""Rate limits, IP allowlists and passwords through the Python package: idioms, type edges,
threads and interop (the shared behaviour is in tests/vectors, run by test_vectors.py)."""

from __future__ import annotations

import ipaddress
import threading
from datetime import timedelta

import argon2
import pytest

import authgate

FAST = authgate.PasswordHasher(memory_kib=1024, iterations=1)


def test_policies_from_text_numbers_and_timedelta() -> None:
    assert authgate.RatePolicy.parse("100/minute") == authgate.RatePolicy(100, 60)
    assert authgate.RatePolicy(10, timedelta(seconds=5), burst=2).period_ms == 5000
    assert authgate.RatePolicy(10, 0.5).period_ms == 500
    with pytest.raises(authgate.InvalidInput):
        authgate.RatePolicy.parse("100 per fortnight")
    with pytest.raises(ValueError):  # InvalidInput is a ValueError too
        authgate.RatePolicy(0, 60)


def test_decisions_carry_headers_and_enforce_raises_rate_limited() -> None:
    clock = authgate.ManualClock(1_700_000_000)
    limiter = authgate.RateLimiter(clock=clock)
    limiter.set_policy("login", "2/minute")
    first = limiter.check("alice", policy="login")
    assert first and first.remaining == 1
    assert first.headers["RateLimit-Policy"] == '"login";q=2;w=60'
    limiter.enforce("alice", policy="login")
    with pytest.raises(authgate.RateLimited) as info:
        limiter.enforce("alice", policy="login")
    assert info.value.retry_after == 30
    refused = limiter.check("alice", policy="login")
    assert not refused and refused.headers["Retry-After"] == "30"
    clock.advance(30)
    assert limiter.check("alice", policy="login").allowed


def test_wrong_types_are_type_errors() -> None:
    limiter = authgate.RateLimiter()
    with pytest.raises(TypeError):
        limiter.set_policy("p", 5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        limiter.check(b"key")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        limiter.check("k", cost="1")  # type: ignore[arg-type]
    # Negative and fractional costs are the core's invalid_input, as in every runtime.
    for bad in (-1, 1.5, float("nan"), 10**10):
        with pytest.raises(authgate.InvalidInput):
            limiter.check("k", cost=bad)
    # Cost 0 is a peek; a cost above the burst can never go through.
    assert limiter.check("k", cost=0).remaining == 1000
    too_big = limiter.check("k", cost=1001)
    assert not too_big and too_big.outcome == "insufficient_capacity" and too_big.retry_after is None


def test_eight_threads_share_one_bucket_exactly() -> None:
    limiter = authgate.RateLimiter(clock=authgate.ManualClock(1_700_000_000))
    limiter.set_policy("p", "50/hour")
    allowed = []

    def worker() -> None:
        allowed.append(sum(limiter.check("hot", policy="p").allowed for _ in range(20)))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(allowed) == 50


def test_allowlists_take_text_or_ipaddress_objects() -> None:
    office = authgate.IpAllowlist(["10.0.0.0/8", "2001:db8::/32"])
    assert ipaddress.ip_address("10.1.2.3") in office
    assert "::ffff:10.1.2.3" in office
    assert office.networks == ["10.0.0.0/8", "2001:db8::/32"]
    with pytest.raises(authgate.IpNotAllowed):
        office.check(ipaddress.ip_address("192.0.2.1"))
    with pytest.raises(authgate.InvalidInput, match="host bits"):
        authgate.IpAllowlist(["10.1.0.0/8"])
    lists = authgate.IpAllowlists()
    lists.set("admin", ["192.0.2.0/24"])
    lists.check("admin", "192.0.2.9")
    with pytest.raises(authgate.InvalidInput):
        lists.check("admn", "192.0.2.9")


def test_client_ip_from_one_header_value_its_lines_or_none() -> None:
    resolver = authgate.ClientIpResolver(["10.0.0.0/8"])
    assert resolver.resolve("10.0.0.1", "6.6.6.6, 203.0.113.7") == "203.0.113.7"
    assert resolver.resolve("10.0.0.1", ["6.6.6.6", "203.0.113.7"]) == "203.0.113.7"
    assert resolver.resolve("10.0.0.1", None) == "10.0.0.1"
    assert resolver.resolve(ipaddress.ip_address("203.0.113.9"), "1.1.1.1") == "203.0.113.9"
    with pytest.raises(ValueError):
        authgate.ClientIpResolver([], header="x-real-ip")  # type: ignore[arg-type]


def test_weak_password_lists_every_broken_rule() -> None:
    policy = authgate.PasswordPolicy(blocklist=["Password1"])
    assert [v.code for v in policy.check("pass")] == ["too_short", "missing_uppercase", "missing_digit"]
    with pytest.raises(authgate.WeakPassword) as info:
        policy.enforce("password1")
    assert info.value.violations == ["missing_uppercase", "common_password"]
    assert isinstance(info.value, ValueError)
    assert "password1" not in str(info.value)
    policy.enforce("Correct7horse")
    assert authgate.PasswordPolicy.nist().check("alllowercase") == []


def test_hashes_verify_both_ways_with_argon2_cffi() -> None:
    ours = authgate.PasswordHasher().hash("correct horse battery staple")
    assert argon2.PasswordHasher().verify(ours, "correct horse battery staple")
    theirs = argon2.PasswordHasher().hash("Pässwörd-1")
    assert authgate.PasswordHasher().verify("Pässwörd-1", theirs)
    assert not authgate.PasswordHasher().verify("Pässwörd-2", theirs)


def test_pepper_rehash_and_bad_hashes() -> None:
    peppered = authgate.PasswordHasher(memory_kib=1024, iterations=1, pepper=b"p" * 32)
    phc = peppered.hash("hunter2")
    assert peppered.verify("hunter2", phc)
    assert not FAST.verify("hunter2", phc)
    assert authgate.PasswordHasher().needs_rehash(phc)
    assert not FAST.needs_rehash(FAST.hash("x"))
    with pytest.raises(authgate.InvalidInput):
        FAST.verify("x", "$2b$12$notargon")
    with pytest.raises(authgate.WeakKey):
        authgate.PasswordHasher(pepper=b"short")


def test_hashing_runs_in_parallel_threads() -> None:
    # The GIL is released while argon2 runs: four hashes in threads all complete and verify.
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(FAST.hash("pw"))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(results)) == 4 and all(FAST.verify("pw", h) for h in results)
