"""Take the README's screenshots from the real app: ``xvfb-run -a python docs/screenshots/capture.py``.

It starts the app on a temporary app-data folder (the demo databases), runs the demo query through
preview and a migration, and saves each page of the main window at 1280x800.
"""

from __future__ import annotations

import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QCoreApplication

from qdbm_desktop.core.demo import DEMO_QUERY, DEMO_SOURCE_NAME, DEMO_TARGET_NAME
from qdbm_desktop.core.paths import AppPaths
from qdbm_desktop.core.schedules import Schedule, new_schedule_id
from qdbm_desktop.core.triggers import DAYS, ScheduleTrigger
from qdbm_desktop.gui.app import application, open_main_window
from qdbm_desktop.gui.migrate_dialogs import JobNameDialog

OUT = Path(__file__).resolve().parent


def wait_until(condition, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise SystemExit("timed out waiting for the app")
        QCoreApplication.processEvents()
        time.sleep(0.02)


def settle() -> None:
    for _ in range(20):
        QCoreApplication.processEvents()
        time.sleep(0.02)


def main() -> int:
    app = application(sys.argv[:1])
    home = Path(tempfile.mkdtemp(prefix="qdbm-shots-"))
    window = open_main_window(AppPaths(home), start_scheduler=True)
    window.resize(1280, 800)
    window.notice_banner.hide()
    page = window.migrate_page
    window.show_page("migrate")
    page.select_source(DEMO_SOURCE_NAME)
    page.select_target(DEMO_TARGET_NAME)
    page.editor.set_query(DEMO_QUERY)
    page.table_edit.setText("orders_report")
    page.preview()
    wait_until(lambda: page.preview_model.rowCount() > 0)
    wait_until(lambda: "exist" in page.target_status_label.text())
    settle()
    window.grab().save(str(OUT / "migrate-preview.png"))
    page.tabs.setCurrentIndex(1)
    settle()
    window.grab().save(str(OUT / "migrate-mapping.png"))
    page.start_migration()
    wait_until(lambda: page.running_count == 0)
    wait_until(lambda: "exists" in page.target_status_label.text())
    settle()
    window.grab().save(str(OUT / "migrate-run.png"))
    # F5 again in mode replace: the table now exists, so the run asks first.
    page.mode_combo.setCurrentIndex(page.mode_combo.findData("replace"))
    page.start_migration()
    wait_until(lambda: page.pending_question is not None and page.pending_question.isVisible())
    settle()
    question = page.pending_question
    question.grab().save(str(OUT / "migrate-replace-question.png"))
    question.reject()
    page.mode_combo.setCurrentIndex(page.mode_combo.findData("append"))
    naming = JobNameDialog("orders_report from Demo shop (SQLite)", window)
    naming.show()
    settle()
    naming.grab().save(str(OUT / "save-as-job.png"))
    naming.reject()
    guide = window.show_user_guide()
    guide.resize(760, 560)
    settle()
    guide.grab().save(str(OUT / "user-guide.png"))
    guide.close()
    context = window.context
    page.save_as_job("orders report")
    report = context.schedules.get_job("orders report")
    context.schedules.save_job(replace(report, name="customers to warehouse", query="SELECT * FROM customers",
                                       table="customers"))
    tz = "Europe/Berlin"
    for job, trigger in (("orders report", ScheduleTrigger.weekly(DAYS[:5], "06:30", tz)),
                         ("orders report", ScheduleTrigger.from_cron("0 */4 * * *", tz)),
                         ("customers to warehouse", ScheduleTrigger.daily("22:15", tz))):
        context.schedules.add_schedule(Schedule(id=new_schedule_id(), job=job, trigger=trigger,
                                                grace_seconds=1800))
    window.schedules_page.refresh()
    window.refresh()
    window.notice_banner.hide()
    for key in ("connections", "history", "settings", "schedules"):
        window.show_page(key)
        if key == "history":
            window.history_page.table.selectRow(0)
        settle()
        window.grab().save(str(OUT / f"{key}-page.png"))
    window.quit_app()
    app.processEvents()
    print(f"screenshots in {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
