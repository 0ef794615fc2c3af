"""The core tests share tests/conftest.py's fixtures (memory keyrings, a context on a temporary home),
and ``cli``: the ``qdbm`` command run in this process, its exit code and its output."""

from __future__ import annotations

import pytest

from tests.core.cli_runner import Cli


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(capsys)
