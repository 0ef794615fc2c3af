"""Take the time picker's screenshots: ``xvfb-run -a python docs/screenshots/capture_time_picker.py``.

Saves ``time-picker.png`` (weekly), and with ``--all`` also ``time-picker-once.png`` and
``time-picker-cron.png``, each from the real dialog on a fixed clock in Europe/Berlin.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QApplication

from qdbm_desktop.core.triggers import ScheduleTrigger
from qdbm_desktop.gui.time_picker_dialog import TimePickerDialog

OUT = Path(__file__).resolve().parent
CLOCK = datetime(2026, 11, 25, 13, 7, 23, tzinfo=timezone.utc)
SHOTS = {
    "time-picker": ScheduleTrigger.weekly(["mon", "wed", "fri"], "06:30", "Europe/Berlin"),
    "time-picker-once": ScheduleTrigger.once(datetime(2026, 11, 26, 9, 0, tzinfo=timezone.utc),
                                             "Europe/Berlin"),
    "time-picker-cron": ScheduleTrigger.from_cron("30 6 * * 1-5", "Europe/Berlin"),
}


def settle() -> None:
    for _ in range(20):
        QCoreApplication.processEvents()
        time.sleep(0.02)


def main() -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    names = list(SHOTS) if "--all" in sys.argv else ["time-picker"]
    for name in names:
        dialog = TimePickerDialog(initial=SHOTS[name], grace_seconds=3600, title="Schedule “customers copy”",
                                  now=lambda: CLOCK)
        dialog.show()
        settle()
        dialog.grab().save(str(OUT / f"{name}.png"))
        dialog.close()
        dialog.deleteLater()
        settle()
    app.processEvents()
    print(f"screenshots in {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
