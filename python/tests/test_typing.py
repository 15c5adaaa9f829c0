"""The stubs match the compiled module (mypy.stubtest), and typical code type-checks
under `mypy --strict`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, cwd=HERE.parent)


def test_usage_type_checks_strictly() -> None:
    result = run("mypy", "--strict", "--no-incremental", str(HERE / "typing_usage.py"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_package_itself_is_strictly_typed() -> None:
    result = run("mypy", "--strict", "--no-incremental", "authgate")
    assert result.returncode == 0, result.stdout + result.stderr


def test_stubs_match_the_extension() -> None:
    result = run("mypy.stubtest", "authgate._authgate", "authgate.errors")
    assert result.returncode == 0, result.stdout + result.stderr
