"""Help > User guide: the guide that ships with the app (``resources/user-guide.html``), in a window."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QPushButton, QTextBrowser, QVBoxLayout, QWidget

GUIDE_FILE = "user-guide.html"
_RESOURCES = "qdbm_desktop.resources"


def guide_html() -> str:
    """The guide's HTML, from the installed package (a checkout, a wheel or a frozen bundle)."""
    return (files(_RESOURCES) / GUIDE_FILE).read_text(encoding="utf-8")


def guide_path() -> Path | None:
    """The guide as a file a browser can open; None when the package is not plain files."""
    resource = files(_RESOURCES) / GUIDE_FILE
    return resource if isinstance(resource, Path) and resource.is_file() else None


class UserGuideDialog(QDialog):
    """The user guide, read in the app; links inside it jump to their section, others open in the
    browser, and "Open in browser" shows the whole guide there.

    Signals: those of QDialog.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("userGuideDialog")
        self.setWindowTitle("QDBM Desktop user guide")
        self.resize(760, 620)
        layout = QVBoxLayout(self)
        self._browser = QTextBrowser(self)
        self._browser.setObjectName("userGuideText")
        self._browser.setOpenExternalLinks(True)
        self._browser.setHtml(guide_html())
        layout.addWidget(self._browser, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self._browser_button = buttons.addButton("Open in &browser", QDialogButtonBox.ButtonRole.ActionRole)
        self._browser_button.setToolTip("Show the guide in your web browser")
        self._browser_button.setEnabled(guide_path() is not None)
        self._browser_button.clicked.connect(self._on_browser_button_clicked)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    @property
    def browser(self) -> QTextBrowser:
        return self._browser

    @property
    def open_in_browser_button(self) -> QPushButton:
        return self._browser_button

    def _on_browser_button_clicked(self) -> None:
        path = guide_path()
        if path is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))
