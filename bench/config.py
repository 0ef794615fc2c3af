"""Where the benchmark's databases are, and the paths it times.

Servers are reached on loopback as the README's services set them up; each setting can be
overridden from the environment (``QDBM_BENCH_PG_HOST``, ``QDBM_BENCH_MYSQL_PORT``, ...).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

SOURCE_TABLE = "bench_src"
#: The 11 columns, in order, with the name each engine's tables use.
COLUMNS = ("id", "i", "num", "si", "dbl", "vc", "txt", "ts", "tstz", "flag", "d")
ENGINES = ("postgresql", "mysql", "sqlite")
SHORT = {"postgresql": "pg", "mysql": "mysql", "sqlite": "sqlite"}


def _env(name: str, default: str) -> str:
    return os.environ.get(f"QDBM_BENCH_{name}", default)


#: The database made on both servers (QDBM_BENCH_DATABASE keeps two benchmarks on one server apart).
DATABASE = _env("DATABASE", "qdbm_bench")


@dataclass(frozen=True)
class Servers:
    """Connection settings of the two servers and the folder holding the SQLite files."""

    pg_host: str = _env("PG_HOST", "127.0.0.1")
    pg_port: int = int(_env("PG_PORT", "5432"))
    pg_user: str = _env("PG_USER", "postgres")
    mysql_host: str = _env("MYSQL_HOST", "127.0.0.1")
    mysql_port: int = int(_env("MYSQL_PORT", "3306"))
    mysql_user: str = _env("MYSQL_USER", "root")
    workdir: Path = Path("/tmp")

    @property
    def sqlite_source(self) -> Path:
        return self.workdir / "qdbm_bench_source.sqlite"

    @property
    def sqlite_target(self) -> Path:
        return self.workdir / "qdbm_bench_target.sqlite"


@dataclass(frozen=True)
class BenchPath:
    """One source -> target direction, e.g. ``pg-mysql``."""

    source: str
    target: str

    @property
    def key(self) -> str:
        return f"{SHORT[self.source]}-{SHORT[self.target]}"

    @property
    def label(self) -> str:
        names = {"postgresql": "PostgreSQL", "mysql": "MySQL", "sqlite": "SQLite"}
        return f"{names[self.source]} -> {names[self.target]}"

    def target_table(self, kind: str) -> str:
        """The target table of this path for ``kind`` ``qdbm`` or ``pipe``."""
        return f"{kind}_{self.key.replace('-', '_')}"


ALL_PATHS = (
    BenchPath("postgresql", "postgresql"),
    BenchPath("mysql", "postgresql"),
    BenchPath("postgresql", "mysql"),
    BenchPath("mysql", "mysql"),
    BenchPath("sqlite", "postgresql"),
    BenchPath("postgresql", "sqlite"),
)
PATHS_BY_KEY = {p.key: p for p in ALL_PATHS}
