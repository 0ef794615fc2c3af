"""One QDBM migration in its own process: ``python -m bench.worker SPEC_JSON``.

The parent starts a fresh interpreter per run so that the peak resident memory reported here
(``ru_maxrss`` of this process) belongs to that run alone. The migration goes through
``run_migration`` exactly as ``qdbm migrate`` calls it (mode replace; the pipeline verifies the
staging and target row counts itself). Prints one JSON object on stdout.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from typing import Any

from qdbm_desktop.core.checksum import VerifyLevel
from qdbm_desktop.core.dialects import ConnectParams
from qdbm_desktop.core.dialects.base import LoadMode, TableName
from qdbm_desktop.core.migration import Endpoint, MigrationRequest, Status, run_migration, validate_request
from qdbm_desktop.core.partition_plan import Partitioning


def endpoint(spec: dict[str, Any]) -> Endpoint:
    """An endpoint from ``{"type", "host", "port", "database", "user", "path"}`` (absent ones None)."""
    params = ConnectParams(host=spec.get("host"), port=spec.get("port"), database=spec.get("database"),
                           user=spec.get("user"), path=spec.get("path"))
    return Endpoint(f"bench-{spec['type']}", spec["type"], params)


def migrate(spec: dict[str, Any]) -> dict[str, Any]:
    """Run the migration ``spec`` describes; the result with seconds and peak memory."""
    request = MigrationRequest(
        source=endpoint(spec["source"]), target=endpoint(spec["target"]), query=spec["query"],
        table=TableName.parse(spec["table"]), mode=LoadMode.REPLACE, batch_size=int(spec["batch_size"]),
        verify=VerifyLevel(spec.get("verify", VerifyLevel.COUNTS.value)),
        # --partitions N: N ranges of the id column, each read on its own connection (N=1 included).
        partitions=Partitioning(int(spec["partitions"]), "id") if spec.get("partitions") else None)
    validate_request(request)
    started = time.perf_counter()
    result = run_migration(request)
    seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return {"status": result.status.value, "error": result.error, "rows_read": result.rows_read,
            "rows_written": result.rows_written, "seconds": seconds, "peak_rss_mb": peak_kib / 1024}


def main() -> int:
    spec = json.loads(sys.argv[1])
    outcome = migrate(spec)
    json.dump(outcome, sys.stdout)
    sys.stdout.write("\n")
    return 0 if outcome["status"] == Status.SUCCEEDED.value else 1


if __name__ == "__main__":
    sys.exit(main())
