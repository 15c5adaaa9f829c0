"""Redis-backed checks per second from Python, in one run against one server
(`AUTHGATE_REDIS_URL`): authgate's limiter beside `limits` with its Redis storage (its
three strategies, redis-py underneath), one thread and eight; and authgate's nonce check
(a webhook verified with replay protection) beside a bare redis-py `SET NX EX`, the least
a nonce check can cost. Writes its table into docs/benchmarks.md; run by `make bench`."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
from collections.abc import Callable
from importlib.metadata import version
from typing import Any

import limits
import redis
from limits.storage import RedisStorage
from limits.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter, SlidingWindowCounterRateLimiter

import authgate
from authgate.aio import AsyncRateLimiter
from bench import write_section

BEGIN, END = "<!-- BEGIN PYTHON REDIS (make bench) -->", "<!-- END PYTHON REDIS -->"
SECONDS = 1.5


def throughput(threads: int, op: Callable[[int, int], Any]) -> float:
    """Calls `op(thread, i)` from `threads` threads for SECONDS; calls per second."""
    counts = [0] * threads
    start = time.perf_counter()

    def work(t: int) -> None:
        i = 0
        while time.perf_counter() - start < SECONDS:
            for _ in range(20):
                op(t, i)
                i += 1
        counts[t] = i

    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return sum(counts) / (time.perf_counter() - start)


def async_throughput(limiter: AsyncRateLimiter, concurrency: int) -> float:
    async def main() -> float:
        start, done = time.perf_counter(), [0]

        async def worker(t: int) -> None:
            i = 0
            while time.perf_counter() - start < SECONDS:
                await limiter.check(f"app-{(t * 7919 + i) % 10_000}", policy="api")
                i += 1
            done[0] += i

        await asyncio.gather(*(worker(t) for t in range(concurrency)))
        return done[0] / (time.perf_counter() - start)

    return asyncio.run(main())


def main() -> None:
    url = os.environ["AUTHGATE_REDIS_URL"]
    ours = authgate.RateLimiter(authgate.RedisStore(url, prefix="bench-py:", max_idle=32))
    ours.set_policy("api", "1000000000/minute")
    item = limits.parse("1000000000/minute")
    # One key prefix per strategy: they keep different kinds of value under a key.
    peers = {
        "fixed window": FixedWindowRateLimiter(RedisStorage(url, key_prefix="bench-fw")),
        "moving window": MovingWindowRateLimiter(RedisStorage(url, key_prefix="bench-mw")),
        "sliding window counter": SlidingWindowCounterRateLimiter(RedisStorage(url, key_prefix="bench-swc")),
    }
    assert ours.check("app-1", policy="api").allowed and all(p.hit(item, "app-1") for p in peers.values())
    key = lambda t, i: f"app-{(t * 7919 + i) % 10_000}"  # noqa: E731
    rows = []
    for threads in (1, 8):
        a = throughput(threads, lambda t, i: ours.check(key(t, i), policy="api"))
        p = {n: throughput(threads, lambda t, i, lim=lim: lim.hit(item, key(t, i))) for n, lim in peers.items()}
        rows.append((f"rate-limit check, {threads} thread{'s' if threads > 1 else ''}", a, p))
    aio = async_throughput(AsyncRateLimiter(ours), 32)

    secret = authgate.WebhookKey.generate_secret()
    hooks = authgate.WebhookVerifier([secret], store=authgate.RedisStore(url, prefix="bench-py:"))
    ts = int(time.time())
    signed = [(f"m{i}", authgate.sign_webhook([secret], f"m{i}", ts, b"{}")) for i in range(200_000)]
    counter = iter(range(10**9))

    def verify(_t: int, _i: int) -> None:
        mid, sig = signed[next(counter) % len(signed)]
        try:
            hooks.verify({"webhook-id": mid, "webhook-timestamp": str(ts), "webhook-signature": sig}, b"{}")
        except authgate.ReplayDetected:
            pass  # past 200,000 ids, the run wraps around: the check still makes its round trip

    raw = redis.Redis.from_url(url)
    nonce_rows = []
    for threads in (1, 8):
        nonce_rows.append(
            (
                threads,
                throughput(threads, verify),
                throughput(threads, lambda t, i: raw.set(f"bench-raw:{threads}:{t}:{i}", 1, nx=True, ex=300)),
            )
        )

    names = list(peers)
    fmt = lambda x: f"{x:,.0f}/s"  # noqa: E731
    lines = [
        BEGIN,
        "",
        f"Python {sys.version.split()[0]}; authgate {authgate.__version__}, limits {version('limits')}, "
        f"redis-py {version('redis')}; Redis on loopback. Calls per second over {SECONDS} s; every check is allowed "
        "(a limit of 10^9 per minute) over 10,000 keys.",
        "",
        "| operation | authgate | " + " | ".join(f"limits {n}" for n in names) + " |",
        "|---|---|" + "---|" * len(names),
    ]
    for name, a, p in rows:
        lines.append(f"| {name} | {fmt(a)} | " + " | ".join(f"{fmt(p[n])} ({a / p[n]:.1f}x)" for n in names) + " |")
    lines += [
        f"| rate-limit check, `authgate.aio`, 32 tasks on one event loop | {fmt(aio)} | | | |",
        "",
        "| nonce check | authgate (webhook verify + replay check) | redis-py `SET NX EX` alone |",
        "|---|---|---|",
    ]
    for threads, a, r in nonce_rows:
        lines.append(f"| {threads} thread{'s' if threads > 1 else ''} | {fmt(a)} | {fmt(r)} |")
    lines += ["", END]
    write_section(lines, after="<!-- END PYTHON LIMITS -->")


if __name__ == "__main__":
    main()
