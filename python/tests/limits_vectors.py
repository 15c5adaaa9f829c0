"""The ratelimit, allowlist and password areas of tests/vectors, through the package."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from stores import new_store

import authgate

Case = dict[str, Any]


def expect(case: Case, run: Callable[[], Any], check: Callable[[Any, Any], None] = lambda _v, _e: None) -> None:
    want = case["expect"]
    if "error" in want:
        with pytest.raises(authgate.AuthError) as info:
            run()
        assert info.value.code == want["error"], f"got {info.value.code}: {info.value}"
        if "retry_after" in want:
            assert info.value.retry_after == want["retry_after"]
    else:
        check(run(), want)


def _policy(spec: Case) -> authgate.RatePolicy:
    return authgate.RatePolicy(spec.get("limit", 0), spec.get("period_ms", 0) / 1000, burst=spec.get("burst"))


def _decision_matches(d: authgate.RateDecision, want: Case) -> None:
    got = {
        "allowed": d.allowed,
        "outcome": d.outcome,
        "remaining": d.remaining,
        "reset_after_ms": d.reset_after_ms,
        "retry_after_ms": d.retry_after_ms,
    }
    for k in got:
        if k in want:
            assert got[k] == want[k], f"{k}: {got[k]} != {want[k]}"
    for name, value in want.get("headers", {}).items():
        assert d.headers.get(name) == value, f"{name}: {d.headers.get(name)} != {value}"


def run_ratelimit(case: Case) -> None:
    if case["op"] == "policy":
        expect(case, lambda: _policy(case["policy"]))
        return
    assert case["op"] == "scenario", case["op"]
    clock = authgate.ManualClock(0)
    clock.advance_ms(case["start_ms"])
    limiter = authgate.RateLimiter(new_store(), clock=clock)
    for name, spec in case.get("policies", {}).items():
        limiter.set_policy(name, _policy(spec))
    for o in case.get("overrides", []):
        limiter.set_override(o["policy"], o["key"], _policy(o))
    for step in case["steps"]:
        policy = step.get("policy", "default")
        do = step["do"]
        if do == "check":
            expect(step, lambda: limiter.check(step["key"], policy=policy, cost=step.get("cost", 1)), _decision_matches)
        elif do == "peek":
            expect(step, lambda: limiter.peek(step["key"], policy=policy), _decision_matches)
        elif do == "enforce":
            expect(step, lambda: limiter.enforce(step["key"], policy=policy, cost=step.get("cost", 1)))
        elif do == "set_policy":
            expect(step, lambda: limiter.set_policy(step["name"], _policy(step["policy"])))
        elif do == "advance_ms":
            clock.advance_ms(step["ms"])
        else:
            raise AssertionError(f"unknown step {do!r}")


def run_allowlist(case: Case) -> None:
    op = case["op"]
    if op == "parse_network":
        expect(case, lambda: authgate.parse_network(case["text"]), lambda n, w: _eq(n, w["network"]))
    elif op == "contains":
        expect(
            case,
            lambda: authgate.IpAllowlist(case["entries"], allow_any=case.get("allow_any", False)).contains(case["ip"]),
            lambda r, w: _eq(r, w["result"]),
        )
    elif op == "check":
        expect(
            case,
            lambda: authgate.IpAllowlist(case["entries"], allow_any=case.get("allow_any", False)).check(case["ip"]),
        )
    elif op == "client_ip":
        expect(
            case,
            lambda: authgate.ClientIpResolver(case["trusted"], header=case["header"]).resolve(
                case["peer"], case["values"]
            ),
            lambda ip, w: _eq(ip, w["ip"]),
        )
    else:
        raise AssertionError(f"unknown allowlist op {op!r}")


def _password_policy(case: Case) -> authgate.PasswordPolicy:
    spec = case["policy"]
    blocklist = case.get("blocklist", [])
    if spec == "nist":
        return authgate.PasswordPolicy.nist(blocklist=blocklist)
    if isinstance(spec, dict):
        return authgate.PasswordPolicy(**spec, blocklist=blocklist)
    return authgate.PasswordPolicy(blocklist=blocklist)


HASHER = authgate.PasswordHasher()


def run_password(case: Case) -> None:
    op = case["op"]
    context = case.get("context", [])
    if op == "policy_check":
        expect(
            case,
            lambda: _password_policy(case).check(case["password"], context),
            lambda got, want: _eq([v.code for v in got], want["violations"]),
        )
    elif op == "enforce":
        expect(case, lambda: _password_policy(case).enforce(case["password"], context))
    elif op == "verify":
        expect(case, lambda: HASHER.verify(case["password"], case["hash"]), lambda r, w: _eq(r, w["result"]))
    elif op == "needs_rehash":
        expect(case, lambda: HASHER.needs_rehash(case["hash"]), lambda r, w: _eq(r, w["result"]))
    else:
        raise AssertionError(f"unknown password op {op!r}")


def _eq(got: Any, want: Any) -> None:
    assert got == want, f"{got!r} != {want!r}"
