"""Objects are shared between threads; the GIL is released for asymmetric crypto."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from conftest import TEST_KEYS

import authgate


def test_concurrent_refreshes_have_exactly_one_winner() -> None:
    keys = authgate.KeySet([authgate.Key.hmac(b"0123456789abcdef0123456789abcdef")])
    sessions = authgate.SessionManager(keys)
    for _ in range(10):
        refresh = sessions.login("alice", "phone").tokens.refresh_token
        barrier = threading.Barrier(16)

        def attempt() -> str:
            barrier.wait()
            try:
                sessions.refresh(refresh)
                return "won"
            except authgate.SessionError as e:
                return e.code

        with ThreadPoolExecutor(16) as pool:
            results = list(pool.map(lambda _: attempt(), range(16)))
        assert results.count("won") == 1
        assert set(results) - {"won"} <= {"refresh_token_reused", "session_revoked"}


def test_asymmetric_verify_runs_in_parallel_threads() -> None:
    pem = (TEST_KEYS / "ec-private.pem").read_text()
    keys = authgate.KeySet([authgate.Key.from_pem(pem, "ES256", kid="ec")])
    token = keys.sign({"sub": "u", "exp": int(time.time()) + 600})
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: keys.verify(token)["sub"], range(400)))
    assert results == ["u"] * 400


def test_metered_api_key_credits_are_exact_across_threads() -> None:
    manager = authgate.ApiKeyManager()
    key, _ = manager.create(credits=50)

    def use(_: int) -> bool:
        try:
            manager.verify(key)
            return True
        except authgate.ApiKeyCreditsExhausted:
            return False

    with ThreadPoolExecutor(8) as pool:
        assert sum(pool.map(use, range(200))) == 50
