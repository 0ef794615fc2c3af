"""A history written by a version that recorded URLs as typed is scrubbed on disk when opened."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from qdbm_desktop.core.history import HistoryStore, RunStatus

LEAKED = "postgresql://alice:Old%40Leak-77@db.example/sales?sslpassword=Phrase-88"


def _bytes_of(path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in path.parent.glob(f"{path.name}*") if p.is_file())


def test_opening_a_history_with_credentials_recorded_as_typed_masks_them_in_the_file_too(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    store = HistoryStore(path)
    run = store.start_run(run_id="r1", source="pg", target="t", query="select 1", target_table="t",
                          mode="append")
    store.add_log(run, "2026-01-01T00:00:00+00:00", "info", "connect", "placeholder")
    store.finish_run(run, RunStatus.FAILED, 0, 0, "placeholder")
    # What an older version left: the URL as typed, everywhere, and no record of a scrub.
    with sqlite3.connect(path) as db:
        db.execute("UPDATE runs SET source = ?, error = ?", (LEAKED, f"connect failed on '{LEAKED}'"))
        db.execute("UPDATE run_log SET message = ?", (f"connected to {LEAKED}",))
        db.execute("DELETE FROM qdbm_maintenance")
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert b"Old%40Leak-77" in _bytes_of(path)

    reopened = HistoryStore(path)

    data = _bytes_of(path)
    assert b"Old%40Leak-77" not in data and b"Phrase-88" not in data
    record = reopened.runs()[0]
    assert record.source == "postgresql://alice:********@db.example/sales?sslpassword=********"
    assert reopened.log(record.id)[0].message == f"connected to {record.source}"
