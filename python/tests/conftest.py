from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VECTORS = REPO / "tests" / "vectors"
TEST_KEYS = REPO / "core" / "tests" / "data"
