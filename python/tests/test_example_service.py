"""`make demo`'s example service and scripted client, run end to end as `make demo` runs
them: with the in-memory stores, and with Redis (REDIS_URL) as several servers would."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from conftest import REPO
from stores import redis_url

DEMO = REPO / "examples" / "demo.py"


def run_demo(env: dict[str, str]) -> str:
    result = subprocess.run([sys.executable, str(DEMO)], capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_the_demo_walks_all_nine_steps_in_memory() -> None:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    out = run_demo(env)
    assert "(MemoryStore, in-memory stores)" in out
    for n in range(1, 10):
        assert f"\n{n}. " in out, f"step {n} missing"
    assert "All 9 steps behaved as expected." in out
    # The SMS the service "sent" shows in the transcript, marked as the service's.
    assert "[service] [sms to +1 555 0100] your code is" in out
    assert "429" in out and "retry-after:" in out and "refresh_token_reused" in out


def test_the_demo_runs_on_redis_when_redis_url_is_set() -> None:
    url = redis_url()
    if url is None:
        pytest.skip("AUTHGATE_REDIS_URL is not set")
    out = run_demo({**os.environ, "REDIS_URL": url})
    assert "(RedisStore, Redis at" in out
    assert "All 9 steps behaved as expected." in out
