"""The benchmark's checksum: equal exactly when the values are, and the differing columns named,
also for a peer tool's table of other column types (read with ``lenient=True``)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

from bench.checksum import checksum
from bench.config import COLUMNS, Servers

_TYPED = [
    (1, 10, "12.34", 7, 0.1, "a", "é\tb\n", "2008-02-15 09:45:12.755180", "2008-02-15T09:45:12.755180+00:00", 1,
     "2008-02-15"),
    (2, None, "-0.50", None, -2.5e-300, None, None, "1999-12-31 23:59:59", "2000-01-01T01:00:00+01:00", 0,
     None),
]


def _table(path: Path, name: str, rows: Sequence[tuple[object, ...]]) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute(f"CREATE TABLE {name} ({', '.join(COLUMNS)})")
        conn.executemany(f"INSERT INTO {name} VALUES ({', '.join('?' * len(COLUMNS))})", rows)
    conn.close()


def test_a_peer_table_of_other_types_checks_equal_and_a_changed_value_is_named(tmp_path: Path) -> None:
    db = tmp_path / "t.sqlite"
    _table(db, "typed", _TYPED)
    # The same values as a peer tool might store them: booleans as 'true'/'false', the decimal as
    # a double, time stamps with a T and a Z.
    peer = [(r[0], r[1], float(r[2]), r[3], r[4], r[5], r[6], r[7].replace(" ", "T"),
             r[8], "true" if r[9] else "false", r[10]) for r in _TYPED]
    peer[1] = (*peer[1][:8], "2000-01-01T00:00:00Z", *peer[1][9:])
    _table(db, "peer", peer)
    servers = Servers()
    expected = checksum(servers, "sqlite", "typed", db)
    assert checksum(servers, "sqlite", "peer", db, lenient=True) == expected

    changed = [*peer[:1], (*peer[1][:4], -2.5000000000000003e-300, *peer[1][5:])]
    quoted = [(*peer[0][:7], f'"{peer[0][7]}"', *peer[0][8:]), *peer[1:]]
    _table(db, "changed", changed)
    _table(db, "quoted", quoted)
    got = checksum(servers, "sqlite", "changed", db, lenient=True)
    assert got != expected and got.differing(expected) == ["dbl"]
    got = checksum(servers, "sqlite", "quoted", db, lenient=True)
    assert got != expected and got.differing(expected) == ["ts"]
