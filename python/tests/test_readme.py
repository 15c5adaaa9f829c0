"""The README's Python quick tour runs as written."""

from __future__ import annotations

import os
import re

from conftest import REPO
from stores import redis_url


def test_readme_python_blocks_run() -> None:
    blocks = re.findall(r"```python\n(.*?)```", (REPO / "README.md").read_text(), re.S)
    assert blocks, "the README has no Python example"
    for block in blocks:
        # The Redis examples need a server: `make test` starts one (and requires it).
        if "RedisStore" in block:
            url = redis_url()
            if url is None:
                continue
            os.environ.setdefault("REDIS_URL", url)
        exec(compile(block, "README.md", "exec"), {})
