"""docs/type-mapping.md's generated tables still say what the code does."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from qdbm_desktop.core.dialects import ConnectParams
from tests.integration.conftest import Server

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_the_documented_type_table_matches_the_readers_and_writers(pg_database: Server,
                                                                   mysql_database: Server) -> None:
    spec = importlib.util.spec_from_file_location("type_mapping_table", DOCS / "type_mapping_table.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    built = module.build(
        ConnectParams(host=pg_database.host, port=pg_database.port, user=pg_database.user,
                      database=pg_database.database),
        ConnectParams(host=mysql_database.host, port=mysql_database.port, user=mysql_database.user,
                      password=mysql_database.password or None, database=mysql_database.database))
    text = (DOCS / "type-mapping.md").read_text(encoding="utf-8")
    documented = text.split("<!-- generated: begin -->\n", 1)[1].split("<!-- generated: end -->", 1)[0]
    assert documented.strip() == built.strip(), "regenerate with: python docs/type_mapping_table.py"
