"""Window state (geometry and the like) in ui-state.json, kept apart from the user's preferences."""

from __future__ import annotations

import base64
import binascii
import logging
from typing import Any

from qdbm_desktop.core.errors import QdbmError
from qdbm_desktop.core.jsonfile import JsonDocumentFile
from qdbm_desktop.core.paths import AppPaths
from qdbm_desktop.core.schema import Anything, Invalid, MapOf, Record, Text, shown

FORMAT_VERSION = 1

log = logging.getLogger(__name__)


def _check_base64(text: str) -> None:
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise Invalid("is not base64 text") from None


#: One window's entry: its geometry (base64), its page, and yes/no flags under names of its own.
WINDOW_ENTRY = MapOf(Text(max_length=100_000))
WINDOW_FIELDS = Record(fields={"geometry": Text(check_text=_check_base64)})


class UiStateFile:
    """Per-window blobs (Qt's ``saveGeometry`` bytes) stored as base64 text, never pickled.

    Losing UI state is harmless, so a write that fails is logged rather than raised: closing a
    window must never fail because its size could not be remembered.
    """

    def __init__(self, paths: AppPaths) -> None:
        self._file = JsonDocumentFile(paths.ui_state_file, FORMAT_VERSION, default=lambda: {"windows": {}},
                                      shape={"windows": MapOf(Anything())})

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
                if window in windows and self._problem(window, windows[window]) is not None:
                    self._file.keep_copy(f"a window state that could not be read ({shown(window)})")
                    windows[window] = {}
                entry = self._window_entry(document, window)
                entry[key] = value
                windows[window] = entry
                self._file.save(document)
        except (QdbmError, OSError) as exc:
            log.warning("cannot save the window state: %s", exc)

    def _problem(self, window: str, entry: Any) -> str | None:
        try:
            WINDOW_ENTRY.check(entry)
            WINDOW_FIELDS.check(entry)
        except Invalid as exc:
            problem = (f"{self._file.path.name}: the state of window {shown(window)} is not used: {exc}; "
                       "it is kept in the file until the window saves its state again")
            self._file.notify(problem)
            return problem
        return None

    def _window_entry(self, document: dict[str, Any], window: str) -> dict[str, Any]:
        windows = document.get("windows")
        entry = windows.get(window) if isinstance(windows, dict) else None
        if entry is None or self._problem(window, entry) is not None:
            return {}
        return dict(entry)
