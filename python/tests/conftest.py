from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VECTORS = REPO / "tests" / "vectors"
TEST_KEYS = REPO / "core" / "tests" / "data"


def pytest_configure(config: object) -> None:
    """``AUTHGATE_INSTALLED=1`` (``make test`` runs the suite so against the wheel of ``make
    dist``): the package under test must be the installed one, not this checkout's."""
    import os

    if os.environ.get("AUTHGATE_INSTALLED") == "1":
        import authgate

        where = Path(authgate.__file__).resolve()
        assert REPO / "python" not in where.parents, f"authgate imported from the checkout ({where}), not the wheel"
        print(f"authgate under test: {where.parent}")
