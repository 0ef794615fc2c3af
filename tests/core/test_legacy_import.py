"""Import of a Query DB Migrator config/ folder, made the way that tool makes it."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from qdbm_desktop.core.context import AppContext
from qdbm_desktop.core.errors import QdbmError
from qdbm_desktop.core.legacy import import_legacy
from qdbm_desktop.core.paths import AppPaths

PG_PASSWORD = "pg-Pässwörd;1"
ORACLE_PASSWORD = "oracle secret"
ORACLE_DSN = "(DESCRIPTION=(ADDRESS=(HOST=ora.example)(PORT=1521))(CONNECT_DATA=(SERVICE_NAME=PROD)))"


def web_tool_encrypt(fernet: Fernet, text: str) -> str:
    """What the web tool stored: base64 of the Fernet token."""
    return base64.b64encode(fernet.encrypt(text.encode("utf-8"))).decode("ascii")


def make_legacy_folder(folder: Path, with_key: bool = True) -> Path:
    key = Fernet.generate_key()
    fernet = Fernet(key)
    folder.mkdir(parents=True, exist_ok=True)
    if with_key:
        (folder / ".encryption_key").write_bytes(key)
    soon = (datetime.now() + timedelta(days=2)).strftime("%Y-%m-%d %H:%M:%S")
    past = (datetime.now() - timedelta(days=2)).strftime("%Y-%m-%d %H:%M:%S")
    (folder / "db_connections.json").write_text(json.dumps({
        "oracle": {"prod_db": {"user": "admin", "password": web_tool_encrypt(fernet, ORACLE_PASSWORD),
                               "dsn": web_tool_encrypt(fernet, ORACLE_DSN), "host": "ora.example",
                               "port": "1521"}},
        "postgresql": {"analytics": {"user": "etl", "password": web_tool_encrypt(fernet, PG_PASSWORD),
                                     "host": "pg.example", "port": "5432", "database": "dwh"},
                       "prod_db": {"user": "u", "password": "old-plain-text", "host": "h", "port": "5433",
                                   "database": "d"}},
        "mysql": {"sales_db": {"user": "root", "password": "", "host": "my.example", "port": "3306",
                               "database": "sales"},
                  "broken": {"user": "x", "host": "y", "port": "not-a-port"}},
        "settings": {"batch_size": 50000},
    }), encoding="utf-8")
    (folder / "schedules.json").write_text(json.dumps([
        {"job_id": "abc-123", "source": "mysql/sales_db", "destination": "postgresql/analytics",
         "query": "SELECT * FROM daily_sales", "target_table": "sales_data", "schedule_time": soon},
        {"job_id": "old-1", "source": "mysql/sales_db", "destination": "postgresql/analytics",
         "query": "SELECT 1", "target_table": "t", "schedule_time": past},
        {"job_id": "gone-2", "source": "mysql/nowhere", "destination": "postgresql/analytics",
         "query": "SELECT 1", "target_table": "t", "schedule_time": soon},
    ]), encoding="utf-8")
    (folder / "migration_history.json").write_text(json.dumps([{"status": "completed"}]), encoding="utf-8")
    return folder


@pytest.fixture
def context(tmp_path: Path, memory_keyring: object) -> AppContext:
    return AppContext.create(AppPaths(tmp_path / "home"), keyring_backend=memory_keyring)


def test_encrypted_passwords_are_decrypted_and_stored_under_our_key(tmp_path: Path, context: AppContext) -> None:
    report = import_legacy(context, make_legacy_folder(tmp_path / "config"))

    store = context.connections
    analytics = store.get("analytics")
    assert (analytics.type, analytics.host, analytics.port, analytics.database, analytics.user) == (
        "postgresql", "pg.example", 5432, "dwh", "etl")
    assert store.connect_params(analytics).password == PG_PASSWORD
    oracle = store.connect_params(store.get("prod_db"))
    assert (oracle.password, oracle.dsn) == (ORACLE_PASSWORD, ORACLE_DSN)
    # Same name under two types: the second gets its type in the name.
    assert store.connect_params(store.get("prod_db (postgresql)")).password == "old-plain-text"
    assert store.connect_params(store.get("sales_db")).password is None
    assert context.settings.get().batch_size == 50000
    assert any("broken" in line and "port" in line for line in report.skipped)
    assert any("history" in line for line in report.skipped)


def test_no_legacy_secret_reaches_our_files_in_plain_text(tmp_path: Path, context: AppContext) -> None:
    legacy = make_legacy_folder(tmp_path / "config")
    import_legacy(context, legacy)
    for path in context.paths.home.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for secret in (PG_PASSWORD, ORACLE_PASSWORD, ORACLE_DSN, "old-plain-text"):
                assert secret.encode("utf-8") not in data, path
    assert (legacy / ".encryption_key").read_bytes() not in b"".join(
        p.read_bytes() for p in context.paths.home.rglob("*") if p.is_file())


def test_future_schedules_are_imported_and_past_or_orphaned_ones_reported(
        tmp_path: Path, context: AppContext) -> None:
    report = import_legacy(context, make_legacy_folder(tmp_path / "config"))
    (job,) = context.schedules.jobs()
    assert (job.name, job.source, job.target, job.table, job.query) == (
        "sales_data from sales_db", "sales_db", "analytics", "sales_data", "SELECT * FROM daily_sales")
    (schedule,) = context.schedules.schedules()
    assert (schedule.job, schedule.origin, schedule.trigger.kind.value) == (job.name, "legacy:abc-123", "once")
    assert schedule.trigger.once_time().tzinfo is not None
    assert any("old-1" in line and "passed" in line for line in report.skipped)
    assert any("gone-2" in line and "mysql/nowhere" in line for line in report.skipped)


def test_importing_twice_adds_nothing_new(tmp_path: Path, context: AppContext) -> None:
    legacy = make_legacy_folder(tmp_path / "config")
    first = import_legacy(context, legacy)
    count = len(context.connections.list())
    second = import_legacy(context, legacy)
    assert len(context.connections.list()) == count
    assert len(context.schedules.schedules()) == 1 and len(context.schedules.jobs()) == 1
    assert not [line for line in second.imported if line.startswith("connection")]
    assert len(first.imported) > len(second.imported)


def test_missing_key_imports_connections_without_their_encrypted_passwords(
        tmp_path: Path, context: AppContext) -> None:
    report = import_legacy(context, make_legacy_folder(tmp_path / "config", with_key=False))
    assert any(".encryption_key" in w for w in report.warnings)
    analytics = context.connections.get("analytics")
    # The ciphertext is never taken for a password.
    assert context.connections.connect_params(analytics).password is None
    assert any("analytics" in line and "re-enter" in line for line in report.imported)
    plain = context.connections.get("prod_db (postgresql)")
    assert context.connections.connect_params(plain).password == "old-plain-text"


def test_a_folder_that_is_not_the_web_tools_is_refused_clearly(tmp_path: Path, context: AppContext) -> None:
    with pytest.raises(QdbmError, match="no db_connections.json"):
        import_legacy(context, tmp_path)
    with pytest.raises(QdbmError, match="is not a folder"):
        import_legacy(context, tmp_path / "missing")
    (tmp_path / "db_connections.json").write_text("{oops", encoding="utf-8")
    with pytest.raises(QdbmError, match="not valid JSON"):
        import_legacy(context, tmp_path)
    assert [c.name for c in context.connections.list()] == []
