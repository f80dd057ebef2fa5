"""Python-side tests: run inside rote (`rote -m pytest tests/python`), where the
built-in `rote` module and its internal codec functions exist."""

import sys

import pytest

try:
    import rote
except ImportError:  # pragma: no cover - only under plain python
    rote = None


def pytest_configure(config: pytest.Config) -> None:
    if rote is None:
        sys.exit(
            "tests/python must run inside rote: "
            "`VIRTUAL_ENV=.venv target/py3.X/release/rote -m pytest tests/python`"
        )
