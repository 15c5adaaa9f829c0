"""authgate's rate limiter, allowlist and password hashing beside the Python libraries users
would otherwise pick, in one run: `limits` (its in-memory fixed-window, moving-window and
sliding-window-counter strategies), the standard library's `ipaddress`, and argon2-cffi
with the same argon2id parameters. Writes its table into docs/benchmarks.md; run by
`make bench`."""

from __future__ import annotations

import ipaddress
import statistics
import sys
import time
from collections.abc import Callable
from importlib.metadata import version
from typing import Any

import argon2
import limits
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter, SlidingWindowCounterRateLimiter

import authgate
from bench import fmt, measure, write_section

BEGIN, END = "<!-- BEGIN PYTHON LIMITS (make bench) -->", "<!-- END PYTHON LIMITS -->"
KEYS = [f"app-{i}" for i in range(100_000)]


def slow(fn: Callable[[], Any], n: int = 15) -> float:
    """Median ns of `n` calls, for operations of milliseconds."""
    fn()
    samples = []
    for _ in range(n):
        start = time.perf_counter_ns()
        fn()
        samples.append(time.perf_counter_ns() - start)
    return statistics.median(samples)


def human(ns: float) -> str:
    return f"{ns / 1e6:.1f} ms" if ns >= 1e6 else fmt(ns)


def round_robin(hit: Callable[[str], Any]) -> Callable[[], Any]:
    state = [0]

    def call() -> Any:
        state[0] = (state[0] + 1) % len(KEYS)
        return hit(KEYS[state[0]])

    return call


def main() -> None:
    # A limit no check in the run reaches: every call is an allowed request.
    ours = authgate.RateLimiter()
    ours.set_policy("api", "1000000000/minute")
    item = limits.parse("1000000000/minute")
    peers = {
        "fixed window": FixedWindowRateLimiter(MemoryStorage()),
        "moving window": MovingWindowRateLimiter(MemoryStorage()),
        "sliding window counter": SlidingWindowCounterRateLimiter(MemoryStorage()),
    }
    assert ours.check("app-1", policy="api").allowed and all(p.hit(item, "app-1") for p in peers.values())
    rows: list[tuple[str, float, dict[str, float]]] = []
    hot = measure(lambda: ours.check("app-1", policy="api"))
    rows.append(("check, one hot key", hot, {n: measure(lambda p=p: p.hit(item, "app-1")) for n, p in peers.items()}))
    many = measure(round_robin(lambda k: ours.check(k, policy="api")))
    rows.append(
        (
            "check, 100k keys in turn",
            many,
            {n: measure(round_robin(lambda k, p=p: p.hit(item, k))) for n, p in peers.items()},
        )
    )

    # 1,000 IPv4 /24s and 1,000 IPv6 /48s with gaps between them (so none merge).
    nets = [f"10.{2 * i // 256}.{2 * i % 256}.0/24" for i in range(1000)] + [
        f"2001:db8:{2 * i:x}::/48" for i in range(1000)
    ]
    allow = authgate.IpAllowlist(nets)
    std_nets = [ipaddress.ip_network(n) for n in nets]
    assert allow.contains("10.3.200.7") and any(ipaddress.ip_address("10.3.200.7") in n for n in std_nets)
    contains = (
        measure(lambda: allow.contains("10.3.200.7")),
        measure(lambda: any(ipaddress.ip_address("10.3.200.7") in n for n in std_nets), seconds=0.5),
    )

    hasher, theirs = authgate.PasswordHasher(), argon2.PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
    phc = hasher.hash("correct horse battery staple")
    assert theirs.verify(phc, "correct horse battery staple")
    hashing = (
        slow(lambda: hasher.hash("correct horse battery staple")),
        slow(lambda: theirs.hash("correct horse battery staple")),
    )
    verifying = (
        slow(lambda: hasher.verify("correct horse battery staple", phc)),
        slow(lambda: theirs.verify(phc, "correct horse battery staple")),
    )

    names = list(peers)
    lines = [
        BEGIN,
        "",
        f"Python {sys.version.split()[0]}; authgate {authgate.__version__}, limits {version('limits')}, "
        f"argon2-cffi {version('argon2-cffi')}. Median of 5 rounds (argon2: of 15 calls), one call at a time.",
        "",
        "Rate limits: a limit of 10^9 per minute, so every call is an allowed request; `limits` with its",
        "in-memory storage. authgate is a token bucket (GCRA), which none of `limits`' strategies is.",
        "",
        "| operation | authgate | " + " | ".join(f"limits {n}" for n in names) + " |",
        "|---|---|" + "---|" * len(names),
    ]
    for name, a, p in rows:
        lines.append(f"| {name} | {fmt(a)} | " + " | ".join(f"{fmt(p[n])} ({p[n] / a:.1f}x)" for n in names) + " |")
    lines += [
        "",
        "| operation | authgate | peer | speed-up |",
        "|---|---|---|---|",
        f"| allowlist lookup, 2,000 networks | {fmt(contains[0])} | {human(contains[1])} (`ipaddress`, any() over the list) "
        f"| {contains[1] / contains[0]:.0f}x |",
        f"| argon2id hash, 19 MiB, t=2, p=1 | {human(hashing[0])} | {human(hashing[1])} (argon2-cffi) | {hashing[1] / hashing[0]:.2f}x |",
        f"| argon2id verify | {human(verifying[0])} | {human(verifying[1])} (argon2-cffi) | {verifying[1] / verifying[0]:.2f}x |",
        "",
        END,
    ]
    write_section(lines, after="<!-- END PYTHON OTP -->")


if __name__ == "__main__":
    main()
