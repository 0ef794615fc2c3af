"""Window state (geometry and the like) in ui-state.json, kept apart from the user's preferences."""

from __future__ import annotations

import base64
import binascii
import logging
from typing import Any

from qdbm_desktop.core.errors import QdbmError
from qdbm_desktop.core.jsonfile import JsonDocumentFile
from qdbm_desktop.core.paths import AppPaths

FORMAT_VERSION = 1

log = logging.getLogger(__name__)


class UiStateFile:
    """Per-window blobs (Qt's ``saveGeometry`` bytes) stored as base64 text, never pickled.

    Losing UI state is harmless, so a write that fails is logged rather than raised: closing a
    window must never fail because its size could not be remembered.
    """

    def __init__(self, paths: AppPaths) -> None:
        self._file = JsonDocumentFile(paths.ui_state_file, FORMAT_VERSION, default=lambda: {"windows": {}})

    @property
    def notices(self) -> list[str]:
        return self._file.notices

    def window_geometry(self, window: str) -> bytes | None:
        """The geometry last saved for ``window``, or None when there is none (or it is damaged)."""
        try:
            document = self._file.load()
        except QdbmError as exc:
            log.warning("cannot read the window state: %s", exc)
            return None
        entry = self._window_entry(document, window)
        encoded = entry.get("geometry")
        if not isinstance(encoded, str):
            return None
        try:
            return base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            return None

    def set_window_geometry(self, window: str, geometry: bytes) -> None:
        self._set_entry(window, "geometry", base64.b64encode(geometry).decode("ascii"))

    def window_page(self, window: str) -> str | None:
        """The page ``window`` showed when it was last closed."""
        try:
            document = self._file.load()
        except QdbmError as exc:
            log.warning("cannot read the window state: %s", exc)
            return None
        page = self._window_entry(document, window).get("page")
        return page if isinstance(page, str) else None

    def set_window_page(self, window: str, page: str) -> None:
        self._set_entry(window, "page", page)

    def window_flag(self, window: str, key: str) -> bool:
        """A yes/no remembered for ``window`` (a hint already shown, say)."""
        try:
            document = self._file.load()
        except QdbmError:
            return False
        return self._window_entry(document, window).get(key) == "yes"

    def set_window_flag(self, window: str, key: str) -> None:
        self._set_entry(window, key, "yes")

    def _set_entry(self, window: str, key: str, value: str) -> None:
        try:
            with self._file.locked():
                document = self._file.load()
                windows = document.get("windows")
                if not isinstance(windows, dict):
                    windows = document["windows"] = {}
                entry = self._window_entry(document, window)
                entry[key] = value
                windows[window] = entry
                self._file.save(document)
        except (QdbmError, OSError) as exc:
            log.warning("cannot save the window state: %s", exc)

    @staticmethod
    def _window_entry(document: dict[str, Any], window: str) -> dict[str, Any]:
        windows = document.get("windows")
        entry = windows.get(window) if isinstance(windows, dict) else None
        return dict(entry) if isinstance(entry, dict) else {}
