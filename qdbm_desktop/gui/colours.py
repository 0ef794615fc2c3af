"""The few colours the app adds to the palette's own: an error must read as one in any theme."""

from __future__ import annotations

from PySide6.QtGui import QPalette

#: Material's error reds: dark red on a light window, a light red on a dark one (both pass WCAG AA).
_ERROR_ON_LIGHT = "#b3261e"
_ERROR_ON_DARK = "#ff8a80"


def is_dark(palette: QPalette) -> bool:
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def error_colour(palette: QPalette) -> str:
    """The colour of error text (a refused start, a failed preview) under ``palette``."""
    return _ERROR_ON_DARK if is_dark(palette) else _ERROR_ON_LIGHT


def error_style(palette: QPalette) -> str:
    """A style sheet that sets a label's text in the error colour."""
    return f"color: {error_colour(palette)};"
