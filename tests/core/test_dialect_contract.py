"""The dialect contract: every engine implements all of it, and keeps no per-connection state of
its own (what a connection was opened with stays with that connection)."""

from __future__ import annotations

import importlib
import pkgutil
import sqlite3
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any, cast

import pytest

import qdbm_desktop.core.dialects as dialects_package
from qdbm_desktop.core.dialects import DIALECTS, Dialect
from qdbm_desktop.core.dialects.base import ConnectParams, LoadMode, TableName
from qdbm_desktop.core.types import Column, PortableType

#: What every engine must provide; the rest of Dialect is shared code or an optional hook.
CONTRACT = {
    "connect", "server_version", "cancel_running", "quote_identifier", "open_read", "param_marker",
    "native_type", "table_exists", "table_columns", "create_table_sql", "list_tables", "open_writer",
    "finalize", "open_lock_session", "try_lock", "unlock", "table_lock_name",
    "list_schemas", "list_relations", "describe_table",
}


def test_the_abstract_methods_of_dialect_are_the_whole_contract() -> None:
    assert set(Dialect.__abstractmethods__) == CONTRACT


@pytest.mark.parametrize("name", sorted(DIALECTS))
def test_every_engine_implements_the_whole_contract_and_can_be_made(name: str) -> None:
    cls = type(DIALECTS[name])

    assert not cls.__abstractmethods__
    made = cls()
    assert made.name == name and made.display_name
    for method in CONTRACT:
        # Implemented by the engine itself (or a base of its own), not inherited from Dialect.
        assert getattr(cls, method) is not getattr(Dialect, method), f"{name} lacks {method}"


def _dialect_without(missing: str) -> type[Dialect]:
    def stand_in(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("not called")

    body: dict[str, Any] = {m: stand_in for m in CONTRACT if m != missing}
    body.update(name="partial", display_name="Partial")
    return type(f"Without_{missing}", (Dialect,), body)


@pytest.mark.parametrize("missing", sorted(CONTRACT))
def test_a_dialect_missing_one_method_of_the_contract_cannot_be_made(missing: str) -> None:
    partial = _dialect_without(missing)

    with pytest.raises(TypeError, match=missing):
        partial()


def test_a_dialect_with_every_method_of_the_contract_can_be_made() -> None:
    complete = _dialect_without("")

    assert complete().display_name == "Partial"


def _dialect_modules() -> Iterator[ModuleType]:
    yield dialects_package
    for info in pkgutil.walk_packages(dialects_package.__path__, dialects_package.__name__ + "."):
        yield importlib.import_module(info.name)


_WEAK = (weakref.WeakSet, weakref.WeakKeyDictionary, weakref.WeakValueDictionary)


def test_no_dialect_module_holds_a_registry_of_connections() -> None:
    # A weak container, or a container that starts empty, at module level is where state of
    # connections or cursors would collect; the tables the modules hold are filled at import.
    found = []
    for module in _dialect_modules():
        for attribute, value in vars(module).items():
            if isinstance(value, _WEAK) or (isinstance(value, (dict, list, set)) and not value):
                found.append(f"{module.__name__}.{attribute}")
    assert found == []


def test_sql_server_cancels_the_cursor_reading_on_that_connection_and_no_other() -> None:
    # pyodbc cancels only through the running cursor: each connection keeps its own (no server here,
    # so the cursor is a stand-in that records the cancel).
    from qdbm_desktop.core.dialects.sqlserver import SQLServerConnection

    class Reading:
        cancelled = False

        def cancel(self) -> None:
            self.cancelled = True

    first, second = SQLServerConnection(cast(Any, None)), SQLServerConnection(cast(Any, None))
    reading = Reading()
    first.reading = cast(Any, reading)
    dialect = DIALECTS["sqlserver"]

    dialect.cancel_running(second, ConnectParams())
    assert not reading.cancelled
    dialect.cancel_running(first, ConnectParams())
    assert reading.cancelled


def test_oracle_direct_path_is_an_option_of_the_connection_not_of_the_dialect() -> None:
    from qdbm_desktop.core.dialects.oracle.connection import OracleConnection
    from qdbm_desktop.core.dialects.oracle.dialect import OracleDialect

    assert OracleConnection.wants_direct_path is False
    # The option is no attribute of that name: python-oracledb's direct_path_load method stays callable.
    assert callable(OracleConnection.direct_path_load)
    assert not OracleDialect._direct_path_load(sqlite3.connect(":memory:"))


def _module_state() -> dict[str, Any]:
    state: dict[str, Any] = {}
    for module in _dialect_modules():
        for attribute, value in vars(module).items():
            if isinstance(value, dict):
                state[f"{module.__name__}.{attribute}"] = dict(value)
            elif isinstance(value, (list, set)):
                state[f"{module.__name__}.{attribute}"] = type(value)(value)
    return state


def test_a_sqlite_load_and_read_leave_every_dialect_module_as_it_was(tmp_path: Path) -> None:
    database = tmp_path / "contract.sqlite"
    sqlite3.connect(database).close()
    dialect = DIALECTS["sqlite"]
    before = _module_state()
    params = ConnectParams(path=str(database))
    columns = [Column("id", PortableType.parse("int64"), nullable=False), Column("note", PortableType.parse("text"))]
    connection = dialect.connect(params, 5)
    try:
        dialect.create_table(connection, TableName("staging"), columns)
        writer = dialect.open_writer(connection, TableName("staging"), columns)
        writer.write([(1, "one"), (2, None)], 1)
        writer.finish()
        dialect.finalize(connection, LoadMode.CREATE, TableName("target"), TableName("staging"), columns, (),
                         False)
        stream = dialect.open_read(connection, "SELECT id, note FROM target ORDER BY id", 10)
        try:
            rows = [row for batch in stream.batches() for row in batch]
        finally:
            stream.close()
    finally:
        connection.close()

    assert rows == [(1, "one"), (2, None)]
    assert list(stream.warnings) == [] and list(writer.warnings) == []
    assert _module_state() == before


@pytest.mark.parametrize("call", [
    lambda d, c: d.server_version(c),
    lambda d, c: d.table_exists(c, TableName("t")),
], ids=["server_version", "table_exists"])
def test_a_connection_of_another_engine_is_refused_with_a_clear_error(
        call: Callable[[Dialect, Any], Any]) -> None:
    other = sqlite3.connect(":memory:")
    try:
        with pytest.raises(TypeError, match="not a PostgreSQL connection"):
            call(DIALECTS["postgresql"], other)
    finally:
        other.close()
