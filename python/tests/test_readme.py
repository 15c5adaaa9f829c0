"""The README's Python quick tour runs as written."""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import REPO
from https_server import HttpsServer
from stores import redis_url

import authgate


@contextlib.contextmanager
def identity_provider() -> Iterator[None]:
    """A local OpenID Connect provider for the README's RemoteJwks block: its issuer, CA and
    a token it signed, in the environment variables the block reads."""
    with HttpsServer() as server:
        issuer = server.url("/idp")
        keys = authgate.KeySet([authgate.Key.from_pem(authgate.Key.generate_pem("ES256"), "ES256", kid="idp-1")])
        keys.activate("idp-1")
        server.set(
            "/idp/.well-known/openid-configuration", json.dumps({"issuer": issuer, "jwks_uri": server.url("/idp/jwks")})
        )
        server.set("/idp/jwks", json.dumps(keys.jwks()))
        token = keys.sign(
            {"iss": issuer, "sub": "alice", "aud": "https://api.example.com", "exp": int(time.time()) + 600}
        )
        saved = {k: os.environ.get(k) for k in ("OIDC_ISSUER", "OIDC_CA_PEM", "ACCESS_TOKEN")}
        os.environ.update(OIDC_ISSUER=issuer, OIDC_CA_PEM=server.ca, ACCESS_TOKEN=token)
        try:
            yield
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


DOCUMENTS = [REPO / "README.md", REPO / "python" / "README.md", *sorted((REPO / "docs").glob("*.md"))]


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.name)
def test_readme_python_blocks_run(document: Path) -> None:
    """Every ```python block of the README and of docs/ runs (```python fragment blocks are
    excerpts and do not)."""
    blocks = re.findall(r"```python\n(.*?)```", document.read_text(), re.S)
    if document.name == "README.md":  # the project's and the Python package's
        assert blocks, "the README has no Python example"
    for block in blocks:
        # The Redis examples need a server: `make test` starts one (and requires it).
        if "RedisStore" in block:
            url = redis_url()
            if url is None:
                continue
            os.environ.setdefault("REDIS_URL", url)
        with identity_provider() if "RemoteJwks" in block else contextlib.nullcontext():
            exec(compile(block, document.name, "exec"), {"__name__": "readme_block"})
