"""The local HTTPS test server (tests/https-server, built by `make test`) that remote-JWKS
tests fetch from: a private CA, paths answering what a test sets, request counts."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Optional

from conftest import REPO

BINARY = Path(os.environ.get("AUTHGATE_TEST_HTTPS", REPO / "target" / "debug" / "authgate-test-https"))


class HttpsServer:
    def __init__(self) -> None:
        assert BINARY.exists(), f"{BINARY} is missing: `make test-https` builds it"
        self._proc = subprocess.Popen(
            [str(BINARY)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
        )
        assert self._proc.stdout is not None
        hello = json.loads(self._proc.stdout.readline())
        self.port: int = hello["port"]
        #: The PEM of the CA that signed the server's certificate.
        self.ca: str = hello["ca"]
        self.base = f"https://127.0.0.1:{self.port}"

    def _ask(self, line: str) -> str:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(line + "\n")
        self._proc.stdin.flush()
        answer = self._proc.stdout.readline().strip()
        assert not answer.startswith("error"), answer
        return answer

    def url(self, path: str) -> str:
        return self.base + path

    def set(self, path: str, body: str, status: int = 200, delay_ms: int = 0) -> None:
        """`path` answers `status` with `body` after `delay_ms` (status 0: the connection
        is dropped)."""
        assert "\n" not in body
        self._ask(f"set {path} {status} {delay_ms} {body}")

    def hits(self, path: str) -> int:
        return int(self._ask(f"hits {path}"))

    def close(self, timeout: Optional[float] = 5) -> None:
        if self._proc.stdin:
            self._proc.stdin.close()
        self._proc.wait(timeout)
        if self._proc.stdout:
            self._proc.stdout.close()

    def __enter__(self) -> HttpsServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
