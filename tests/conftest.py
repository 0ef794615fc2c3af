"""Fixtures shared by every test suite: in-memory keyrings and an app context on a temporary home."""

from __future__ import annotations

import os

# No test may read or write the developer's real keyring: code that asks keyring for the system
# backend gets "no keyring" (and so the key-file fallback) unless a test passes its own backend.
os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"

from collections.abc import Callable, Iterator
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
#: A test parametrized over engines asks for a server's fixture (request.getfixturevalue) when
#: one of its parameters names a server engine.
SERVER_ENGINES = frozenset({"postgresql", "mysql", "sqlserver", "oracle"})


def needs_a_server(item: pytest.Item) -> bool:
    if set(getattr(item, "fixturenames", ())) & SERVER_FIXTURES:
        return True
    if any(item.get_closest_marker(name) for name in SERVER_MARKERS):
        return True
    callspec = getattr(item, "callspec", None)
    params = callspec.params.values() if callspec is not None else ()
    return any(isinstance(value, str) and value in SERVER_ENGINES for value in params)


#: Tests of several seconds each (measured): real qdbm processes, schedulers that wait for their
#: next tick, full disks, 200k-row streams. Node-id prefixes; tests/integration/ as a whole.
SLOW_TESTS = (
    "tests/integration/",
    "tests/core/test_cli.py::test_no_keyring_warns_on_stderr_and_keeps_a_private_key_file",
    "tests/core/test_cli_inputs.py::test_non_utf8_arguments_get_one_line_in_a_real_process",
    "tests/core/test_malformed_stored_files.py::test_the_scheduler_runs_briefly_on_a_malformed_file",
    "tests/core/test_missing_driver_libraries.py::",
    "tests/core/test_scheduler.py::test_a_job_never_runs_twice_at_once",
    "tests/core/test_scheduler.py::test_schedules_survive_a_restart",
    "tests/core/test_secrets.py::test_command_line_without_keyring_warns",
    "tests/core/test_secrets.py::test_fail_keyring_forced_by_environment",
    "tests/core/test_sqlite_dialect.py::test_streaming_200k_rows",
    "tests/core/test_sqlserver_dialect.py::test_without_unixodbc_the_command_line",
    "tests/gui/test_app.py::test_python_dash_m_prints_the_version",
    "tests/gui/test_scheduling_gui.py::test_starting_the_app_twice",
    "tests/gui/test_self_test.py::",
    "tests/gui/test_source_query_errors.py::test_an_update_as_the_query_is_refused",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Marks ``servers`` every test that needs a database server: from the fixtures it uses
    (directly or through other fixtures), its postgresql/mysql marker or an engine among its
    parameters; so that ``pytest -m "not servers"`` runs without any server. Marks ``slow``
    the tests in SLOW_TESTS, for the quick loop ``-m "not servers and not slow"``."""
    for item in items:
        if needs_a_server(item):
            item.add_marker(pytest.mark.servers)
        if item.nodeid.startswith(SLOW_TESTS):
            item.add_marker(pytest.mark.slow)


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


@pytest.fixture
def connection_uses(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every ``ConnectionStore.record_use`` call, by connection name, in any store (it still records)."""
    from qdbm_desktop.core.connections import ConnectionStore

    calls: list[str] = []
    real = ConnectionStore.record_use

    def record_use(store: ConnectionStore, name: str) -> None:
        calls.append(name)
        real(store, name)

    monkeypatch.setattr(ConnectionStore, "record_use", record_use)
    yield calls
