"""The store the vector runners use: in memory, or Redis while a test selects it, so the
same vectors run against both backends."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Optional, Union

import pytest

import authgate

_redis_url: Optional[str] = None


def redis_url() -> Optional[str]:
    """`AUTHGATE_REDIS_URL` (set by `make test`); without it Redis tests skip, unless
    `AUTHGATE_REQUIRE_REDIS` is set, which fails them."""
    url = os.environ.get("AUTHGATE_REDIS_URL")
    if not url and os.environ.get("AUTHGATE_REQUIRE_REDIS"):
        pytest.fail("AUTHGATE_REQUIRE_REDIS is set but AUTHGATE_REDIS_URL is not")
    return url or None


def require_redis() -> str:
    url = redis_url()
    if url is None:
        pytest.skip("AUTHGATE_REDIS_URL is not set")
    return url


def redis_store(url: str, prefix: Optional[str] = None) -> authgate.RedisStore:
    return authgate.RedisStore(url, prefix=prefix or f"test:{secrets.token_hex(8)}:")


@contextmanager
def on_redis(url: str) -> Iterator[None]:
    global _redis_url
    _redis_url = url
    try:
        yield
    finally:
        _redis_url = None


def on_redis_now() -> bool:
    return _redis_url is not None


def new_store() -> Union[authgate.MemoryStore, authgate.RedisStore]:
    return redis_store(_redis_url) if _redis_url else authgate.MemoryStore()
