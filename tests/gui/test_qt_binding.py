"""The Qt binding keeps Python's reference counts right (PySide6 6.12.0 did not, and crashed)."""

from __future__ import annotations

import os
import subprocess
import sys

CHECK = """
import sys
from PySide6.QtWidgets import QApplication, QLabel
app = QApplication([])
label = QLabel()
before = sys.getrefcount(None), sys.getrefcount(True)
for _ in range(200):
    label.setEnabled(True)
    label.setText("x")
after = sys.getrefcount(None), sys.getrefcount(True)
print(after[0] - before[0], after[1] - before[1])
"""


def test_void_qt_calls_do_not_eat_references_to_none_or_true() -> None:
    # In a child process: a binding that drops references aborts the interpreter that runs it.
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    none_delta, true_delta = (int(n) for n in done.stdout.split())
    # A few references come and go with the interpreter's own work; a leak loses one per call.
    assert abs(none_delta) < 50 and abs(true_delta) < 50, (none_delta, true_delta)
