"""The connections the Oracle dialect opens: python-oracledb's own, carrying the options they were
opened with (imported only once a connection is made, so the driver loads only when needed)."""

from __future__ import annotations

import oracledb


class OracleConnection(oracledb.Connection):
    """A python-oracledb connection that knows how it was opened.

    ``OracleDialect.connect`` makes these (python-oracledb's ``conn_class``), so an option of one
    connection is kept with that connection and ends with it.
    """

    #: The connection option ``direct_path_load=yes``: the writer loads through the direct path
    #: (``direct_path_load``, thin mode, for the kinds it takes) instead of executemany. Named
    #: apart from that method, which an attribute of the same name would hide.
    wants_direct_path: bool = False
