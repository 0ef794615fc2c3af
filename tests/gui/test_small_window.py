"""Every page at 1024x700, the smallest window the app promises to be usable in."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QPoint, QRect, QSize
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractScrollArea,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLabel,
    QLineEdit,
    QStyle,
    QStyleOptionComboBox,
    QWidget,
)
from pytestqt.qtbot import QtBot

from qdbm_desktop.core.connections import ConnectionProfile
from qdbm_desktop.core.context import AppContext
from qdbm_desktop.core.demo import DEMO_SOURCE_NAME, DEMO_TARGET_NAME, ensure_first_run
from qdbm_desktop.gui.main_window import PAGES, MainWindow

SMALL = QSize(1024, 700)
LONG_NAME = "Production data warehouse on db-01.example.org"


@pytest.fixture
def window(qtbot: QtBot, context: AppContext) -> Iterator[MainWindow]:
    ensure_first_run(context)
    context.connections.add(ConnectionProfile(name=LONG_NAME, type="postgresql", host="db-01.example.org",
                                              database="dwh", user="loader"))
    window = MainWindow(context)
    qtbot.addWidget(window)
    window.resize(SMALL)
    with qtbot.waitExposed(window):
        window.show()
    yield window


def _rect_in(window: QWidget, widget: QWidget) -> QRect:
    return QRect(widget.mapTo(window, QPoint(0, 0)), widget.size())


def _in_scroll_area(widget: QWidget, page: QWidget) -> bool:
    """Inside a scrolled area of the page (a table, the Runs list, Settings): it may lie past the edge."""
    parent = widget.parentWidget()
    while parent is not None and parent is not page:
        if isinstance(parent, QAbstractScrollArea):
            return True
        parent = parent.parentWidget()
    return False


def _controls(page: QWidget) -> list[QWidget]:
    kinds = (QComboBox, QAbstractButton, QLineEdit, QAbstractSpinBox, QLabel)
    return [w for w in page.findChildren(QWidget) if isinstance(w, kinds) and w.isVisible()
            and not _in_scroll_area(w, page)]


def _edit_field_width(combo: QComboBox) -> int:
    option = QStyleOptionComboBox()
    combo.initStyleOption(option)
    field = combo.style().subControlRect(QStyle.ComplexControl.CC_ComboBox, option,
                                         QStyle.SubControl.SC_ComboBoxEditField, combo)
    return field.width()


def test_the_window_can_be_1024_by_700_and_every_control_of_every_page_fits_in_it(window: MainWindow) -> None:
    assert window.minimumSizeHint().width() <= SMALL.width()
    assert window.minimumSizeHint().height() <= SMALL.height()
    assert window.size() == SMALL
    for key, _title, _shortcut in PAGES:
        window.show_page(key)
        QApplication.processEvents()
        page = window.findChild(QWidget, f"{key}Holder")
        assert page is not None and page.isVisible()
        for control in _controls(page):
            name = f"{key}: {type(control).__name__}({control.objectName() or control.text() if hasattr(control, 'text') else ''})"
            assert window.rect().contains(_rect_in(window, control)), f"{name} lies past the window's edge"
            if isinstance(control, QComboBox | QAbstractButton | QAbstractSpinBox):
                assert control.width() >= control.minimumSizeHint().width(), f"{name} is squeezed"


def test_at_1024_by_700_the_connection_pickers_show_the_demo_names_whole(window: MainWindow) -> None:
    page = window.migrate_page
    page.select_source(DEMO_SOURCE_NAME)
    page.select_target(DEMO_TARGET_NAME)
    QApplication.processEvents()
    for combo in (page.source_combo, page.target_combo):
        text_width = combo.fontMetrics().horizontalAdvance(combo.currentText()) + combo.iconSize().width() + 4
        assert _edit_field_width(combo) >= text_width, f"{combo.currentText()!r} is cut off"
    # A longer name is cut in the picker, but whole in its tooltip, and it widens nothing.
    page.select_target(LONG_NAME)
    QApplication.processEvents()
    assert page.target_combo.toolTip() == LONG_NAME
    assert window.size() == SMALL


def test_at_1024_by_700_the_status_bar_shows_every_label_even_with_a_long_message(window: MainWindow) -> None:
    message = f"Migration started: {DEMO_SOURCE_NAME} → {LONG_NAME}.orders_report_with_a_long_name_2026"
    window.migrate_page.status_message.emit(message)
    QApplication.processEvents()
    assert window.size() == SMALL
    bar = window.statusBar()
    assert window.rect().contains(_rect_in(window, bar))
    for label in (window.running_label, window.next_run_label, window.keyring_label):
        assert label.isVisible()
        assert window.rect().contains(_rect_in(window, label)), label.text()
        assert label.width() >= label.sizeHint().width(), f"{label.text()!r} is squeezed"
    assert window.status_text == message
    shown = window.findChild(QLabel, "statusMessage")
    assert shown is not None and shown.text().endswith("…") and shown.toolTip() == message
