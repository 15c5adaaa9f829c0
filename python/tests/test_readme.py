"""The README's Python quick tour runs as written."""

from __future__ import annotations

import re

from conftest import REPO


def test_readme_python_blocks_run() -> None:
    blocks = re.findall(r"```python\n(.*?)```", (REPO / "README.md").read_text(), re.S)
    assert blocks, "the README has no Python example"
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})
