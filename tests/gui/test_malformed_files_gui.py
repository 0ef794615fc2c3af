"""The app starts with hand-edited, malformed stored files, lists what is good and names what is not."""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import QByteArray

from qdbm_desktop.core.context import AppContext
from qdbm_desktop.core.demo import DEMO_SOURCE_NAME, DEMO_TARGET_NAME, ensure_first_run
from qdbm_desktop.core.jobs import Job
from qdbm_desktop.core.paths import AppPaths
from qdbm_desktop.core.schedules import Schedule
from qdbm_desktop.core.triggers import ScheduleTrigger
from qdbm_desktop.gui.connections_model import Column
from qdbm_desktop.gui.main_window import STATE_KEY, MainWindow
from qdbm_desktop.gui.schedules_page import JobColumn, ScheduleColumn


def _spoil(paths: AppPaths, memory_keyring: Any) -> None:
    """A first start with a good job and schedule, then every file edited by hand into nonsense."""
    context = AppContext.create(paths, keyring_backend=memory_keyring)
    ensure_first_run(context)
    context.schedules.save_job(Job(name="good job", source=DEMO_SOURCE_NAME, target=DEMO_TARGET_NAME,
                                   query="SELECT 1 AS a", table="good_t"))
    context.schedules.add_schedule(Schedule(id="good1", job="good job", trigger=ScheduleTrigger.daily("06:30")))

    def edit(path: Any, change: Any) -> None:
        document = json.loads(path.read_text(encoding="utf-8"))
        change(document)
        path.write_text(json.dumps(document), encoding="utf-8")

    edit(paths.connections_file, lambda d: d["connections"].extend(
        [{"name": "pg1", "type": "postgresql", "host": "db", "port": "abc"}, {"name": 12345, "type": "sqlite"},
         {"name": "odd", "type": "db2", "host": "h"}, None]))
    edit(paths.schedules_file, lambda d: (
        d["schedules"].append({"id": "neg", "job": "good job",
                               "trigger": {"kind": "interval", "timezone": "UTC", "every_seconds": -5}}),
        d["jobs"].append({"name": "bad job", "source": "a", "target": "b", "query": "q", "table": "t",
                          "batch_size": "big"})))
    edit(paths.settings_file, lambda d: d.update(batch_size=[1]))
    paths.ui_state_file.write_text(json.dumps({"version": 1, "windows": {STATE_KEY: {"geometry": "%%%"}}}),
                                   encoding="utf-8")


def test_the_app_starts_with_malformed_files_lists_the_good_entries_and_names_each_bad_one(
        paths: AppPaths, memory_keyring: Any, qtbot: Any) -> None:
    _spoil(paths, memory_keyring)
    before = {p.name: p.read_text(encoding="utf-8") for p in paths.home.glob("*.json")}

    window = MainWindow(AppContext.create(paths, keyring_backend=memory_keyring))
    qtbot.addWidget(window)
    with qtbot.waitExposed(window):
        window.show()
    window.refresh()

    proxy = window.proxy_model
    names = sorted(proxy.index(row, Column.NAME).data() for row in range(proxy.rowCount()))
    assert names == sorted([DEMO_SOURCE_NAME, DEMO_TARGET_NAME])
    page = window.schedules_page
    page.refresh()
    jobs = [page.jobs_model.index(row, JobColumn.NAME).data() for row in range(page.jobs_model.rowCount())]
    assert jobs == ["good job"]
    schedules = [page.model.index(row, ScheduleColumn.JOB).data() for row in range(page.model.rowCount())]
    assert schedules == ["good job"]

    assert window.notice_banner.isVisible()
    messages = window.notice_banner.messages()
    for needle in ('connection "pg1"', "connection entry 4", 'connection "odd"', "connection entry 6", 'schedule "neg"',
                   'job "bad job"', "settings.json: batch_size", f'window "{STATE_KEY}"'):
        assert sum(needle in m for m in messages) >= 1, (needle, messages)
    assert len(messages) == len(set(messages))

    # Saving the window state (as closing does) keeps every bad entry of the other files as it was.
    window.save_ui_state()
    for name in ("connections.json", "schedules.json", "settings.json"):
        assert (paths.home / name).read_text(encoding="utf-8") == before[name]
    (kept,) = paths.home.glob("ui-state.json.corrupt-*")
    assert "%%%" in kept.read_text(encoding="utf-8")
    assert QByteArray(window.saveGeometry()).size() > 0
