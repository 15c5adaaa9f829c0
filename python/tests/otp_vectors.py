"""The `otp` area of the conformance vectors, through the Python package."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from stores import new_store

import authgate

Case = dict[str, Any]

RECOVERY_CODE = re.compile(r"^[0-9abcdefghjkmnpqrstvwxyz]{5}-[0-9abcdefghjkmnpqrstvwxyz]{5}$")


def expect(case: Case, run: Callable[[], Any], check: Callable[[Any, Any], None] = lambda _v, _e: None) -> None:
    want = case["expect"]
    if "error" in want:
        with pytest.raises(authgate.AuthError) as info:
            run()
        assert info.value.code == want["error"], f"{case}: got {info.value.code}: {info.value}"
        assert type(info.value) is authgate.errors._BY_CODE[want["error"]]
        if "retry_after" in want:
            assert info.value.retry_after == want["retry_after"], case
    else:
        check(run(), want)


def secret(case: Case) -> str | bytes:
    return case["secret_base32"] if "secret_base32" in case else bytes.fromhex(case["secret_hex"])


def options(case: Case) -> dict[str, Any]:
    keys = ("algorithm", "digits", "period", "allow_short_secret")
    return {k: case[k] for k in keys if k in case}


def totp(case: Case) -> authgate.Totp:
    return authgate.Totp(secret(case), **options(case))


def hotp(case: Case) -> authgate.Hotp:
    opts = options(case)
    opts.pop("period", None)
    return authgate.Hotp(secret(case), **opts)


def _eq(got: Any, want: Any) -> None:
    assert got == want, f"got {got!r}, want {want!r}"


def run_otp(case: Case) -> None:
    op = case["op"]
    if op == "hotp":
        expect(case, lambda: hotp(case).at(case["counter"]), lambda g, w: _eq(g, w["code"]))
    elif op == "totp":
        expect(
            case,
            lambda: totp(case),
            lambda g, w: _eq((g.at(case["time"]), g.step(case["time"])), (w["code"], w["step"])),
        )
    elif op == "totp_verify":
        expect(
            case,
            lambda: totp(case).verify(
                case["code"], time=case["time"], window=case.get("window", 1), last_step=case.get("last_step")
            ),
            lambda g, w: _eq(g, w["step"]),
        )
    elif op == "hotp_verify":
        expect(
            case,
            lambda: hotp(case).verify(case["code"], case["counter"], look_ahead=case.get("look_ahead", 5)),
            lambda g, w: _eq(g, w["next_counter"]),
        )
    elif op == "base32_encode":
        _eq(authgate.base32_encode(bytes.fromhex(case["hex"])), case["expect"]["text"])
    elif op == "base32_decode":
        expect(case, lambda: authgate.base32_decode(case["text"]), lambda g, w: _eq(g.hex(), w["hex"]))
    elif op == "uri_build":

        def build() -> str:
            return authgate.Totp(bytes.fromhex(case["secret_hex"]), **options(case)).provisioning_uri(
                case["account"], issuer=case.get("issuer")
            )

        expect(case, build, lambda g, w: _eq(g, w["uri"]))
    elif op == "uri_parse":

        def check(p: authgate.OtpAuthUri, want: Any) -> None:
            got = {
                "kind": p.kind,
                "account": p.account,
                "issuer": p.issuer,
                "secret_hex": authgate.base32_decode(p.secret).hex(),
                "algorithm": p.algorithm,
                "digits": p.digits,
                "period": p.period,
            }
            if p.counter is not None:
                got["counter"] = p.counter
            _eq(got, want)

        expect(
            case,
            lambda: authgate.parse_otpauth_uri(case["uri"], allow_short_secret=case.get("allow_short_secret", False)),
            check,
        )
    elif op == "totp_scenario":
        run_totp_scenario(case)
    elif op == "challenge_scenario":
        run_challenge_scenario(case)
    elif op == "recovery_scenario":
        run_recovery_scenario(case)
    else:
        raise AssertionError(f"unknown otp op {op!r}")


def throttle(t: Case) -> authgate.ThrottlePolicy:
    return authgate.ThrottlePolicy(**t)


def _lockout_step(step: Case, lockout: authgate.CodeLockout) -> None:
    account = step.get("account", step.get("subject", step.get("user", "")))
    if step["do"] == "failures":
        expect(step, lambda: lockout.failures(account), lambda g, w: _eq(g, w["count"]))
    else:
        expect(step, lambda: lockout.unlock(account), lambda g, w: _eq(g, w["result"]))


def run_totp_scenario(case: Case) -> None:
    c = case["config"]
    clock = authgate.ManualClock(case["start"])
    store = new_store()
    lockout = authgate.CodeLockout(store, clock=clock)
    manager = authgate.TotpManager(
        store,
        issuer=c.get("issuer"),
        window=c.get("window", 1),
        throttle=throttle(c["throttle"]),
        enrollment_ttl=c.get("enrollment_ttl", 600),
        max_failures=c.get("max_failures"),
        clock=clock,
    )
    pending: dict[str, str] = {}
    active: dict[str, str] = {}
    for step in case["steps"]:
        account = step.get("account", "")
        key = pending.get(account) or active.get(account)

        def code(step: Case = step, key: str | None = key) -> str:
            spec = step["code"]
            now_step = clock.now() // 30
            if isinstance(spec, str) and spec != "wrong":
                return spec
            if key is None:
                return "000000"
            gen = authgate.Totp(key)
            if spec == "wrong":
                near = {gen.at_step(s) for s in range(now_step - 2, now_step + 3)}
                return next(f"{n:06}" for n in range(10**6) if f"{n:06}" not in near)
            return gen.at_step(now_step + spec["at"])

        do = step["do"]
        if do == "begin_enrollment":

            def check_begin(e: authgate.Enrollment, want: Any, account: str = account) -> None:
                assert e.uri.startswith(want["uri_starts_with"]), e.uri
                _eq(e.expires_at - clock.now(), want["expires_in"])
                _eq(len(authgate.base32_decode(e.secret)), want["secret_bytes"])
                pending[account] = e.secret

            expect(step, lambda: manager.begin_enrollment(account), check_begin)
        elif do == "confirm_enrollment":

            def check_confirm(secret: str, _want: Any, account: str = account) -> None:
                pending.pop(account, None)
                active[account] = secret

            expect(step, lambda: manager.confirm_enrollment(account, code()), check_confirm)
        elif do == "verify":
            expect(
                step, lambda: manager.verify(account, active.get(account, ""), code()), lambda g, w: _eq(g, w["step"])
            )
        elif do in ("failures", "unlock"):
            _lockout_step(step, lockout)
        elif do == "advance":
            clock.advance(step["seconds"])
        else:
            raise AssertionError(f"unknown totp_scenario step {do!r}")


def run_challenge_scenario(case: Case) -> None:
    c = case["config"]
    clock = authgate.ManualClock(case["start"])
    sent: dict[str, list[str]] = {}
    failing = {"on": False}

    def sender(d: authgate.CodeDelivery) -> None:
        assert len(d.code) == c["digits"] and d.code.isdigit()
        if failing["on"]:
            raise ConnectionError("gateway down")
        sent.setdefault(d.subject, []).append(d.code)

    store = new_store()
    lockout = authgate.CodeLockout(store, clock=clock)
    challenges = authgate.Challenges(
        sender,
        store,
        digits=c["digits"],
        ttl=c["ttl"],
        max_attempts=c["max_attempts"],
        resend_cooldown=c["resend_cooldown"],
        max_failures=c.get("max_failures"),
        clock=clock,
    )
    for step in case["steps"]:
        do = step["do"]
        subject = step.get("subject", "")
        if do == "issue":
            failing["on"] = step.get("sender") == "fail"

            def check(i: authgate.IssuedChallenge, want: Any) -> None:
                _eq(
                    (i.expires_at - clock.now(), i.resend_after - clock.now(), i.attempts_left),
                    (want["expires_in"], want["resend_in"], want["attempts_left"]),
                )

            expect(step, lambda: challenges.issue(subject, step["destination"]), check)
        elif do == "verify":
            codes = sent.get(subject, [""])
            spec = step["code"]
            if spec == "sent":
                code = codes[-1]
            elif spec == "previous":
                code = codes[-2]
            elif spec == "wrong":
                code = codes[-1][:-1] + str((int(codes[-1][-1]) + 1) % 10)
            else:
                code = spec
            expect(step, lambda: challenges.verify(subject, code))
        elif do in ("failures", "unlock"):
            _lockout_step(step, lockout)
        elif do == "advance":
            clock.advance(step["seconds"])
        else:
            raise AssertionError(f"unknown challenge_scenario step {do!r}")


def run_recovery_scenario(case: Case) -> None:
    c = case["config"]
    clock = authgate.ManualClock(case["start"])
    store = new_store()
    lockout = authgate.CodeLockout(store, clock=clock)
    codes = authgate.RecoveryCodes(
        store, count=c["count"], throttle=throttle(c["throttle"]), max_failures=c.get("max_failures"), clock=clock
    )
    sets: dict[str, list[list[str]]] = {}
    for step in case["steps"]:
        do = step["do"]
        user = step.get("user", "")
        if do == "generate":

            def check(got: list[str], want: Any, user: str = user) -> None:
                assert all(RECOVERY_CODE.match(c) for c in got), got
                _eq(len(set(got)), want["count"])
                sets.setdefault(user, []).append(got)

            expect(step, lambda: codes.generate(user), check)
        elif do == "verify":
            spec = step["code"]
            if isinstance(spec, str):
                code = spec
            else:
                shown = sets[user][spec["set"]][spec["index"]]
                code = {
                    "shown": shown,
                    "upper_no_hyphen": shown.replace("-", "").upper(),
                    "spaces": f" {shown.replace('-', ' ')} ",
                }[spec["form"]]
            expect(step, lambda: codes.verify(user, code), lambda g, w: _eq(g, w["remaining"]))
        elif do == "remaining":
            expect(step, lambda: codes.remaining(user), lambda g, w: _eq(g, w["remaining"]))
        elif do in ("failures", "unlock"):
            _lockout_step(step, lockout)
        elif do == "advance":
            clock.advance(step["seconds"])
        else:
            raise AssertionError(f"unknown recovery_scenario step {do!r}")
