"""Fixtures shared by every test suite: in-memory keyrings and an app context on a temporary home."""

from __future__ import annotations

import os

# No test may read or write the developer's real keyring: code that asks keyring for the system
# backend gets "no keyring" (and so the key-file fallback) unless a test passes its own backend.
os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"

from collections.abc import Callable
from pathlib import Path

import pytest
from keyring.backend import KeyringBackend
from keyring.compat import properties
from keyring.errors import PasswordDeleteError

from qdbm_desktop.core.context import AppContext
from qdbm_desktop.core.paths import AppPaths


class MemoryKeyring(KeyringBackend):
    """A keyring that lives in a dict, passed to ``AppContext.create`` explicitly."""

    @properties.classproperty
    def priority(cls) -> float:
        # keyring registers every subclass it sees; a viable priority (1 would do) would let it pick
        # this backend for code asking for the system default, so the default would depend on
        # which tests ran first. Raising marks it not viable.
        raise RuntimeError("test-only backend, passed explicitly")

    def __init__(self) -> None:
        # keyring's __init__ has no annotations, and mypy's untyped_calls_exclude does not apply to super().
        KeyringBackend.__init__(self)
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        try:
            del self.entries[(service, username)]
        except KeyError:
            raise PasswordDeleteError(f"no {username!r} in {service!r}") from None


#: Fixtures that give a test a real database server: the shared PostgreSQL and MariaDB, or a
#: private PostgreSQL cluster of its own (tests/integration/conftest.py).
SERVER_FIXTURES = frozenset({"pg_database", "mysql_database", "mysql_user_with_password", "pg_password_server"})
SERVER_MARKERS = frozenset({"postgresql", "mysql"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Marks ``servers`` every test that needs a database server, from the fixtures it uses
    (directly or through other fixtures) or its postgresql/mysql marker, so that
    ``pytest -m "not servers"`` runs without any server."""
    servers = pytest.mark.servers
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if fixtures & SERVER_FIXTURES or any(item.get_closest_marker(name) for name in SERVER_MARKERS):
            item.add_marker(servers)


@pytest.fixture
def new_memory_keyring() -> Callable[[], MemoryKeyring]:
    """Makes independent, empty in-memory keyrings (a second machine, a reset keyring)."""
    return MemoryKeyring


@pytest.fixture
def memory_keyring() -> MemoryKeyring:
    return MemoryKeyring()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def paths(home: Path) -> AppPaths:
    return AppPaths(home)


@pytest.fixture
def context(paths: AppPaths, memory_keyring: MemoryKeyring) -> AppContext:
    return AppContext.create(paths, keyring_backend=memory_keyring)


@pytest.fixture
def without_unixodbc(tmp_path: Path) -> dict[str, str]:
    """An environment for a child process in which pyodbc cannot load, as on a machine without
    unixODBC: an empty ``libodbc.so.2`` comes first on the loader's path. Linux only."""
    import sys

    if not sys.platform.startswith("linux"):
        pytest.skip("LD_LIBRARY_PATH and libodbc.so.2 are Linux's")
    folder = tmp_path / "no-unixodbc"
    folder.mkdir()
    (folder / "libodbc.so.2").write_bytes(b"")
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = os.pathsep.join(filter(None, [str(folder), env.get("LD_LIBRARY_PATH")]))
    return env
