"""The schema browser's screenshots from the real app, on the demo databases:
``DISPLAY=:NN python docs/screenshots/capture_browser.py`` (an X server such as Xvfb at 1280x800).

Each picture is a grab of the whole screen by a separate process, so popups (completions, menus)
show as a user sees them.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from capture import settle, wait_until  # the sibling script: both are run from this folder
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from qdbm_desktop.core.demo import DEMO_SOURCE_NAME, DEMO_TARGET_NAME
from qdbm_desktop.core.dialects.base import TableName
from qdbm_desktop.core.paths import AppPaths
from qdbm_desktop.gui.app import application, open_main_window

OUT = Path(__file__).resolve().parent
GRAB = ("from PySide6.QtWidgets import QApplication; a = QApplication([]); "
        "a.primaryScreen().grabWindow(0).save({!r})")


def grab(name: str) -> None:
    settle()
    subprocess.run([sys.executable, "-c", GRAB.format(str(OUT / name))], check=True)


def main() -> int:
    application(sys.argv[:1])
    home = Path(tempfile.mkdtemp(prefix="qdbm-shots-"))
    window = open_main_window(AppPaths(home), start_scheduler=False)
    window.resize(1280, 800)
    window.move(0, 0)
    window.notice_banner.hide()
    window.show()
    page = window.migrate_page
    window.show_page("migrate")
    page.select_source(DEMO_SOURCE_NAME)
    page.select_target(DEMO_TARGET_NAME)
    tree = page.schema_tree
    wait_until(lambda: tree.relation_item(TableName("orders", "main")) is not None)
    orders = tree.relation_item(TableName("orders", "main"))
    assert orders is not None
    orders.setExpanded(True)
    wait_until(lambda: orders.childCount() > 1)
    tree.tree.setCurrentItem(orders)
    tree.query_table(TableName("orders", "main"))
    wait_until(lambda: "FROM orders" in page.editor.query())
    page.preview()
    wait_until(lambda: page.preview_model.rowCount() > 0)
    grab("schema-tree.png")

    wait_until(lambda: "customers" in page.editor.completion.words())
    page.editor.set_query("SELECT * FROM ")
    page.editor.moveCursor(page.editor.textCursor().MoveOperation.End)
    page.editor.setFocus()
    QTest.keyClicks(page.editor, "cu")
    wait_until(lambda: page.editor.completion.popup.isVisible())
    grab("sql-completion.png")
    QTest.keyClick(page.editor.completion.popup, Qt.Key.Key_Escape)

    tree.copy_button.click()
    wait_until(lambda: page.copy_flow.dialog is not None)
    dialog = page.copy_flow.dialog
    assert dialog is not None
    dialog.move(window.mapToGlobal(QPoint(300, 120)))
    for name in ("customers", "order_items", "products"):
        dialog.model.set_checked(TableName(name, "main"))
    row = dialog.model.row_of(TableName("customers", "main"))
    dialog.model.setData(dialog.model.index(row, 1), "shop_customers")
    dialog.model.setData(dialog.model.index(row, 2), "replace")
    grab("copy-tables.png")
    dialog.accept()
    wait_until(lambda: page.run_panel.cards and page.running_count == 0, timeout=60)
    grab("copy-tables-run.png")
    page.select_target(DEMO_SOURCE_NAME)
    page.select_target(DEMO_TARGET_NAME)  # read the destination's tables again, now that it has some
    model = page.catalog_feeds.table_completer.model()
    wait_until(lambda: model.rowCount() > 0)
    page.table_edit.setFocus()
    page.table_edit.clear()
    QTest.keyClicks(page.table_edit, "o")
    wait_until(lambda: page.catalog_feeds.table_completer.popup().isVisible())
    grab("table-completion.png")
    QTest.keyClick(page.catalog_feeds.table_completer.popup(), Qt.Key.Key_Escape)

    window.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
