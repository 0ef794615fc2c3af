"""MySQL and MariaDB through mysql-connector-python, with its C extension where it loads.

Reading uses an unbuffered cursor with ``raw=True`` and our own per-column converters (4x the
driver's own conversion, and the only way to see and count zero dates), except for a result holding
a FLOAT column: the text protocol sends FLOAT with 6 significant digits, so such a result is read
with the binary protocol (a prepared statement), which sends the float32 itself. Loading uses
``LOAD DATA LOCAL INFILE`` from TSV chunks when the server allows it, else multi-row INSERT
statements sized below the server's ``max_allowed_packet``.
"""

from __future__ import annotations

from qdbm_desktop.core.dialects.mysql.dialect import MySQLDialect, driver_description
from qdbm_desktop.core.dialects.mysql.read import MySQLReadStream
from qdbm_desktop.core.dialects.mysql.types import portable_from_column_type, portable_from_field

__all__ = ["MySQLDialect", "MySQLReadStream", "driver_description", "portable_from_column_type",
           "portable_from_field"]
