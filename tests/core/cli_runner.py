"""``qdbm`` run in the test's own process: the ``cli`` fixture of tests/core/conftest.py."""

from __future__ import annotations

import pytest

from qdbm_desktop.cli import main


class Cli:
    """``qdbm ARGS`` in this process: ``cli(*args)`` gives (exit code, stdout, stderr)."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self._capsys = capsys

    def __call__(self, *args: str) -> tuple[int, str, str]:
        try:
            code = main(list(args))
        except SystemExit as stop:  # argparse's own exits: --help, --version, a usage error
            code = 0 if stop.code is None else stop.code if isinstance(stop.code, int) else 2
        out, err = self._capsys.readouterr()
        return code, out, err

    def ok(self, *args: str) -> str:
        """The output of a command that must succeed."""
        code, out, err = self(*args)
        assert code == 0, err
        return out
