"""One way to build a run and one run path: the command line's arguments and a saved job give the
same request, and every way a run starts records the use of its connections once.

The desktop form's side of both is in tests/gui/test_one_run_path_gui.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from qdbm_desktop.cli import build_parser
from qdbm_desktop.cli.migrate import _migration_request
from qdbm_desktop.core.context import AppContext
from qdbm_desktop.core.demo import DEMO_SOURCE_NAME, DEMO_TARGET_NAME, ensure_first_run
from qdbm_desktop.core.history import RunStatus, RunTrigger
from qdbm_desktop.core.incremental import job_file_text, job_request
from qdbm_desktop.core.migration import ColumnMap, MigrationRequest, Status
from qdbm_desktop.core.runs import run_status
from qdbm_desktop.core.scheduler import SchedulerService
from qdbm_desktop.core.types import PortableType
from tests.core.cli_runner import Cli

QUERY = "SELECT customer_id, name, credit_limit FROM customers"
#: The same migration as `qdbm migrate` and `qdbm jobs add` arguments.
ARGS = ["--source", DEMO_SOURCE_NAME, "--target", DEMO_TARGET_NAME, "--query", QUERY, "--table", "customers_copy",
        "--mode", "upsert", "--key", "customer_id", "--batch-size", "700", "--count",
        "--map", "credit_limit=decimal(14,2)"]


@pytest.fixture
def demo(context: AppContext, home: Path, monkeypatch: pytest.MonkeyPatch) -> AppContext:
    """The demo connections, with ``qdbm`` (the ``cli`` fixture) on the same app-data folder."""
    monkeypatch.setenv("QDBM_HOME", str(home))
    ensure_first_run(context)
    return context


def _migrate_request(context: AppContext, *args: str) -> MigrationRequest:
    return _migration_request(build_parser().parse_args(["migrate", *args]), context)


def test_the_command_lines_arguments_and_the_saved_job_build_the_same_request(demo: AppContext, cli: Cli) -> None:
    cli.ok("jobs", "add", "copy", *ARGS)
    saved = demo.schedules.get_job("copy")

    from_args = _migrate_request(demo, *ARGS)
    from_job = job_request(saved, None, demo.connections, demo.settings.get(), work_dir=demo.paths.runs_dir)

    assert from_args == from_job
    assert from_job.column_map == (ColumnMap("credit_limit", type=PortableType.parse("decimal(14,2)")),)
    assert (from_job.mode.value, from_job.keys, from_job.batch_size, from_job.count_rows) == (
        "upsert", ("customer_id",), 700, True)
    assert from_job.work_dir == demo.paths.runs_dir


def test_left_out_options_follow_the_settings_for_the_arguments_and_the_saved_job_alike(
        demo: AppContext, cli: Cli) -> None:
    cli.ok("settings", "set", "batch_size", "1234")
    cli.ok("settings", "set", "default_mode", "replace")
    plain = ["--source", DEMO_SOURCE_NAME, "--target", DEMO_TARGET_NAME, "--query", QUERY, "--table", "c2"]
    cli.ok("jobs", "add", "plain", *plain)

    from_args = _migrate_request(demo, *plain)
    from_job = job_request(demo.schedules.get_job("plain"), None, demo.connections, demo.settings.get(),
                           work_dir=demo.paths.runs_dir)

    assert from_args == from_job
    assert (from_job.batch_size, from_job.mode.value) == (1234, "replace")


def test_keys_without_upsert_are_still_refused_by_qdbm_migrate(demo: AppContext, cli: Cli) -> None:
    code, out, err = cli("migrate", "--source", DEMO_SOURCE_NAME, "--target", DEMO_TARGET_NAME, "--query", QUERY,
                         "--table", "t", "--key", "customer_id")
    assert (code, out) == (2, "")
    assert err.strip().splitlines()[-1] == "qdbm: error: key columns are only used by the upsert mode"


def test_every_way_a_run_starts_records_the_use_of_each_connection_once(
        demo: AppContext, cli: Cli, connection_uses: list[str], tmp_path: Path) -> None:
    both = [DEMO_SOURCE_NAME, DEMO_TARGET_NAME]
    cli.ok("jobs", "add", "copy", *ARGS)
    assert connection_uses == []  # saving a job is no use

    cli.ok("migrate", *ARGS)
    assert connection_uses == both
    cli.ok("run", "copy")
    assert connection_uses == both * 2
    job_file = tmp_path / "copy.json"
    job_file.write_text(job_file_text(demo.schedules.get_job("copy")), encoding="utf-8")
    cli.ok("run", "--file", str(job_file))
    assert connection_uses == both * 3
    result = SchedulerService(demo).execute("copy", RunTrigger.SCHEDULE, None, None)
    assert result is not None and result.status is Status.SUCCEEDED
    assert connection_uses == both * 4

    # A run that cannot start (its query is refused before it connects) is no use either.
    code, _, _ = cli("migrate", *ARGS[:4], "--query", "DELETE FROM customers", *ARGS[6:])
    assert code != 0 and connection_uses == both * 4
    used = {p.name: p.last_used for p in demo.connections.list()}
    assert used[DEMO_SOURCE_NAME] and used[DEMO_TARGET_NAME]
    assert [r.status for r in demo.history.runs()] == [RunStatus.SUCCEEDED] * 4


def test_the_history_names_each_outcome_of_a_run() -> None:
    assert [run_status(s) for s in Status] == [RunStatus(s.value) for s in Status]
