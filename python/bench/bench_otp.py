"""authgate's TOTP beside pyotp, in one run: generate a code, and verify one with a window
of ±1 step (pyotp's valid_window=1). authgate's TotpManager row adds what pyotp leaves to
the application: the throttle and replay checks in the store. Writes its table into
docs/benchmarks.md; run by `make bench`."""

from __future__ import annotations

import sys
from importlib.metadata import version

import pyotp

import authgate
from bench import fmt, measure, write_section

BEGIN, END = "<!-- BEGIN PYTHON OTP (make bench) -->", "<!-- END PYTHON OTP -->"
NOW = 1_700_000_000


def main() -> None:
    secret = authgate.generate_otp_secret()
    ours, theirs = authgate.Totp(secret), pyotp.TOTP(secret)
    code = theirs.at(NOW)
    assert ours.at(NOW) == code and ours.verify(code, time=NOW) and theirs.verify(code, for_time=NOW, valid_window=1)
    generate = (measure(lambda: ours.at(NOW)), measure(lambda: theirs.at(NOW)))
    verify = (
        measure(lambda: ours.verify(code, time=NOW, window=1)),
        measure(lambda: theirs.verify(code, for_time=NOW, valid_window=1)),
    )

    clock = authgate.ManualClock(NOW)
    manager = authgate.TotpManager(clock=clock)

    def manager_verify() -> None:
        clock.advance(30)  # each accepted code must be of a later step
        try:
            manager.verify("alice", secret, ours.at(clock.now()))
        except authgate.CodeReused:
            pass  # neighbouring steps share a code one time in a million

    managed = measure(manager_verify) - measure(lambda: ours.at(NOW))
    lines = [
        BEGIN,
        "",
        f"Python {sys.version.split()[0]}; authgate {authgate.__version__}, pyotp {version('pyotp')}. "
        "Median of 5 rounds, one call at a time. SHA1, 6 digits, 30 s.",
        "",
        "| operation | authgate | pyotp | speed-up |",
        "|---|---|---|---|",
    ]
    for name, (a, p) in (("TOTP generate", generate), ("TOTP verify, window ±1", verify)):
        lines.append(f"| {name} | {fmt(a)} | {fmt(p)} | {p / a:.1f}x |")
    lines.append(f"| TotpManager.verify (throttle + replay in the in-memory store) | {fmt(managed)} | – | |")
    lines += ["", END]
    write_section(lines, after="<!-- END PYTHON SIGNATURES -->")


if __name__ == "__main__":
    main()
