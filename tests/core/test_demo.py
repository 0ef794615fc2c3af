"""The first-run demo: the shop database, its two connections, idempotence, determinism."""

from __future__ import annotations

import json
import re
import sqlite3
from contextlib import closing
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from qdbm_desktop.core.connections import check_connection
from qdbm_desktop.core.context import AppContext
from qdbm_desktop.core.demo import (
    DEMO_QUERY,
    DEMO_SOURCE_FILE,
    DEMO_SOURCE_NAME,
    DEMO_TARGET_FILE,
    DEMO_TARGET_NAME,
    create_demo_database,
    ensure_first_run,
)
from qdbm_desktop.core.paths import AppPaths
from tests.conftest import MemoryKeyring

TABLES = ("customers", "products", "orders", "order_items")


def rows(db_path: Path, sql: str, *args: object) -> list[Any]:
    with closing(sqlite3.connect(db_path)) as db:
        return db.execute(sql, args).fetchall()


def table_contents(db_path: Path) -> dict[str, list[Any]]:
    with closing(sqlite3.connect(db_path)) as db:
        return {t: db.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for t in TABLES}


@pytest.fixture
def first_run(context: AppContext) -> tuple[AppContext, list[str]]:
    messages = ensure_first_run(context)
    return context, messages


@pytest.fixture
def shop(first_run: tuple[AppContext, list[str]]) -> Path:
    context, _ = first_run
    return context.paths.demo_dir / DEMO_SOURCE_FILE


def test_first_run_creates_the_shop_database_with_its_four_tables(shop: Path) -> None:
    names = {name for (name,) in rows(shop, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    counts = {t: rows(shop, f"SELECT count(*) FROM {t}")[0][0] for t in TABLES}

    assert names == set(TABLES)
    assert counts["orders"] == 3000
    assert all(count > 0 for count in counts.values())
    assert 3000 < sum(counts.values()) < 20_000
    assert not list(shop.parent.glob("*.building"))


def test_demo_data_has_unicode_names_and_null_emails(shop: Path) -> None:
    names = [name for (name,) in rows(shop, "SELECT name FROM customers")]
    null_emails = rows(shop, "SELECT count(*) FROM customers WHERE email IS NULL")[0][0]

    assert any(not name.isascii() for name in names)
    assert any(any(ord(ch) > 0x2FF for ch in name) for name in names), "some name beyond Latin"
    assert 0 < null_emails < len(names)


def test_demo_money_has_two_decimal_places(shop: Path) -> None:
    for table, column in (("orders", "total"), ("products", "unit_price"), ("order_items", "unit_price")):
        values = [v for (v,) in rows(shop, f"SELECT {column} FROM {table}")]
        places = [-int(Decimal(repr(v)).normalize().as_tuple().exponent) for v in values]
        assert max(places) == 2, (table, column)
        assert all(p <= 2 for p in places), (table, column)
    # The order totals add up from their lines.
    mismatched = rows(shop, """
        SELECT o.order_id FROM orders o JOIN order_items i ON i.order_id = o.order_id
        GROUP BY o.order_id HAVING abs(o.total - sum(i.quantity * i.unit_price)) > 0.001""")
    assert mismatched == []


def test_demo_has_dates_and_timestamps_with_microseconds(shop: Path) -> None:
    signed_up = [v for (v,) in rows(shop, "SELECT signed_up FROM customers")]
    ordered_at = [v for (v,) in rows(shop, "SELECT ordered_at FROM orders")]
    paid_at = [v for (v,) in rows(shop, "SELECT paid_at FROM orders WHERE paid_at IS NOT NULL")]

    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", v) for v in signed_up)
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{6})?", v) for v in ordered_at)
    assert sum(bool(re.search(r"\.\d{6}$", v)) for v in ordered_at) > len(ordered_at) * 0.9
    assert all(re.search(r"\.\d{6}[+-]\d{2}:\d{2}$", v) for v in paid_at if "." in v)
    assert {v[-6:] for v in paid_at} > {"+00:00"}, "paid_at carries several UTC offsets"
    assert rows(shop, "SELECT count(*) FROM orders WHERE paid_at IS NULL")[0][0] > 0


def test_demo_query_runs_over_every_order(shop: Path) -> None:
    with closing(sqlite3.connect(shop)) as db:
        result = db.execute(DEMO_QUERY).fetchall()

    assert len(result) == 3000


def test_first_run_adds_both_demo_connections_that_work(first_run: tuple[AppContext, list[str]]) -> None:
    context, messages = first_run
    store = context.connections

    assert [p.name for p in store.list()] == [DEMO_SOURCE_NAME, DEMO_TARGET_NAME]
    assert DEMO_SOURCE_NAME == "Demo shop (SQLite)" and DEMO_TARGET_NAME == "Local warehouse (SQLite)"
    assert store.get(DEMO_SOURCE_NAME).path == str(context.paths.demo_dir / DEMO_SOURCE_FILE)
    assert store.get(DEMO_TARGET_NAME).path == str(context.paths.demo_dir / DEMO_TARGET_FILE)
    for profile in store.list():
        assert check_connection(store, profile).ok
    assert len(messages) == 1
    assert DEMO_SOURCE_NAME in messages[0] and DEMO_TARGET_NAME in messages[0]
    assert messages[0] in context.notices()


def test_first_run_writes_every_config_file_with_a_version(first_run: tuple[AppContext, list[str]]) -> None:
    context, _ = first_run

    for path, version in ((context.paths.connections_file, 1), (context.paths.settings_file, 1),
                          (context.paths.schedules_file, 2)):
        document = json.loads(path.read_text(encoding="utf-8"))
        assert document["version"] == version, path.name
    assert context.settings.get().first_run_done is True


def test_second_first_run_adds_nothing(first_run: tuple[AppContext, list[str]], paths: AppPaths, memory_keyring: MemoryKeyring) -> None:
    context, _ = first_run

    assert ensure_first_run(context) == []
    later = AppContext.create(paths, keyring_backend=memory_keyring)
    assert ensure_first_run(later) == []

    assert len(later.connections.list()) == 2


def test_demo_connection_deleted_by_the_user_is_not_added_again(first_run: tuple[AppContext, list[str]], paths: AppPaths, memory_keyring: MemoryKeyring) -> None:
    context, _ = first_run
    context.connections.remove(DEMO_SOURCE_NAME)

    later = AppContext.create(paths, keyring_backend=memory_keyring)

    assert ensure_first_run(later) == []
    assert [p.name for p in later.connections.list()] == [DEMO_TARGET_NAME]


def test_a_damaged_settings_file_does_not_bring_deleted_demo_connections_back(first_run: tuple[AppContext, list[str]], paths: AppPaths, memory_keyring: MemoryKeyring) -> None:
    context, _ = first_run
    context.connections.remove(DEMO_SOURCE_NAME)
    paths.settings_file.write_text("{ this is not json", encoding="utf-8")

    later = AppContext.create(paths, keyring_backend=memory_keyring)

    assert ensure_first_run(later) == []
    assert [p.name for p in later.connections.list()] == [DEMO_TARGET_NAME]
    assert later.settings.get().first_run_done is True
    assert any("settings.json" in n and "corrupt" in n for n in later.notices())


def test_first_run_keeps_an_existing_shop_database(paths: AppPaths, memory_keyring: MemoryKeyring) -> None:
    shop = paths.demo_dir / DEMO_SOURCE_FILE
    create_demo_database(shop, seed=7)
    with closing(sqlite3.connect(shop)) as db:
        db.execute("DELETE FROM order_items WHERE order_id > 10")
        db.commit()
    before = shop.read_bytes()

    ensure_first_run(AppContext.create(paths, keyring_backend=memory_keyring))

    assert shop.read_bytes() == before


def test_demo_generation_is_deterministic_for_a_seed(tmp_path: Path) -> None:
    create_demo_database(tmp_path / "a.sqlite", seed=42)
    create_demo_database(tmp_path / "b.sqlite", seed=42)
    create_demo_database(tmp_path / "c.sqlite", seed=43)

    first = table_contents(tmp_path / "a.sqlite")
    assert first == table_contents(tmp_path / "b.sqlite")
    assert first != table_contents(tmp_path / "c.sqlite")
    assert len(first["orders"]) == 3000


def test_rebuilding_the_demo_replaces_a_leftover_partial_build(tmp_path: Path) -> None:
    target = tmp_path / "shop.sqlite"
    (tmp_path / "shop.sqlite.building").write_bytes(b"half a database")

    create_demo_database(target, seed=1)

    assert not (tmp_path / "shop.sqlite.building").exists()
    assert rows(target, "SELECT count(*) FROM orders")[0][0] == 3000


def test_first_run_does_nothing_when_connections_were_loaded_read_only(paths: AppPaths, memory_keyring: MemoryKeyring) -> None:
    paths.ensure()
    content = b'{"version": 9, "connections": [{"name": "Future", "type": "sqlite", "path": "/f.db"}]}'
    paths.connections_file.write_bytes(content)
    context = AppContext.create(paths, keyring_backend=memory_keyring)
    context.connections.list()  # the file has been read, so the store knows it is read-only

    assert ensure_first_run(context) == []

    assert paths.connections_file.read_bytes() == content


def test_first_run_with_a_connections_file_from_a_newer_version_neither_fails_nor_writes(
        paths: AppPaths, memory_keyring: MemoryKeyring) -> None:
    paths.ensure()
    content = b'{"version": 9, "connections": [{"name": "Future", "type": "sqlite", "path": "/f.db"}]}'
    paths.connections_file.write_bytes(content)
    context = AppContext.create(paths, keyring_backend=memory_keyring)

    assert ensure_first_run(context) == []

    assert paths.connections_file.read_bytes() == content
    assert any("newer" in notice for notice in context.notices())
