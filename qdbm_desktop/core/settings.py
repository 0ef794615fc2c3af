"""Global preferences (settings.json)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from qdbm_desktop.core.errors import UsageError
from qdbm_desktop.core.jsonfile import JsonDocumentFile
from qdbm_desktop.core.paths import AppPaths
from qdbm_desktop.core.schema import Invalid, Kind, Scalar

FORMAT_VERSION = 1
LOAD_MODES = ("append", "truncate", "replace", "create", "upsert")
#: The ways a run checks the staging table before the swap (core.checksum.VerifyLevel).
VERIFY_LEVELS = ("counts", "checksum")
# 50,000 measured as fast as 100,000 on every path (faster into PostgreSQL and SQLite) with half
# the memory: a batch of a wide table is ~50 MB of Python objects and three are alive at once.
DEFAULT_BATCH_SIZE = 50_000
MAX_BATCH_SIZE = 10_000_000
DEFAULT_HISTORY_RETENTION_DAYS = 90
#: A hundred years: anything longer is a typo, and "forever" is spelled 0.
MAX_HISTORY_RETENTION_DAYS = 36_500


@dataclass(frozen=True)
class Settings:
    """User preferences; every value is validated by :func:`parse_setting`."""

    batch_size: int = DEFAULT_BATCH_SIZE
    default_mode: str = "append"
    #: Closing the main window hides it to the system tray, so scheduled migrations keep running.
    close_to_tray: bool = True
    #: Finished runs older than this many days are dropped from the history; 0 keeps them forever.
    history_retention_days: int = DEFAULT_HISTORY_RETENTION_DAYS
    #: How runs check the staging table before the swap by default: counts, or checksum.
    verify: str = "counts"
    #: Set once the first start has created the demo database and connections.
    first_run_done: bool = False


def _whole_number(text: object) -> int | None:
    """Plain ASCII digits, optionally grouped with ``_`` (int() would also take " 5", "+5" and other
    scripts' digits); None for anything else. A minus sign is read, for the range's message."""
    raw = str(text)
    if len(raw) > 30 or not re.fullmatch(r"-?[0-9]+(_[0-9]+)*", raw):
        return None
    return int(raw.replace("_", ""))


def _shown(text: object) -> str:
    raw = str(text)
    return repr(raw if len(raw) <= 40 else raw[:40] + "...")


def _parse_batch_size(text: str) -> int:
    value = _whole_number(text)
    if value is None:
        raise UsageError(f"batch_size must be a whole number of rows, not {_shown(text)}")
    if not 1 <= value <= MAX_BATCH_SIZE:
        raise UsageError(f"batch_size must be between 1 and {MAX_BATCH_SIZE:,} rows, not {value:,}")
    return value


def _parse_retention_days(text: str) -> int:
    value = _whole_number(text)
    if value is None:
        raise UsageError(f"history_retention_days must be a whole number of days, not {_shown(text)}")
    if not 0 <= value <= MAX_HISTORY_RETENTION_DAYS:
        raise UsageError(
            f"history_retention_days must be between 0 (keep forever) and {MAX_HISTORY_RETENTION_DAYS:,}, "
            f"not {value:,}"
        )
    return value


def _parse_mode(text: str) -> str:
    value = str(text).strip().lower()
    if value not in LOAD_MODES:
        raise UsageError(f"default_mode must be one of {', '.join(LOAD_MODES)}, not {text!r}")
    return value


def _parse_verify(text: str) -> str:
    value = str(text).strip().lower()
    if value not in VERIFY_LEVELS:
        raise UsageError(f"verify must be one of {', '.join(VERIFY_LEVELS)}, not {_shown(text)}")
    return value


def _parse_bool(text: str) -> bool:
    value = str(text).strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise UsageError(f"expected true or false, not {text!r}")


_PARSERS: Mapping[str, Callable[[str], Any]] = {
    "batch_size": _parse_batch_size,
    "default_mode": _parse_mode,
    "close_to_tray": _parse_bool,
    "history_retention_days": _parse_retention_days,
    "first_run_done": _parse_bool,
    "verify": _parse_verify,
}
#: The settings a user sets by hand (first_run_done is bookkeeping).
USER_KEYS = ("batch_size", "default_mode", "close_to_tray", "history_retention_days", "verify")


def parse_setting(key: str, text: str) -> Any:
    """The typed value of setting ``key`` given as text; ``UsageError`` says what is wrong."""
    parser = _PARSERS.get(key)
    if parser is None:
        raise UsageError(f"unknown setting {key!r} (known: {', '.join(USER_KEYS)})")
    try:
        return parser(text)
    except UsageError as exc:
        if str(exc).startswith(key):
            raise
        raise UsageError(f"{key}: {exc}") from None


def _stored_value(key: str) -> Kind:
    # Read as the text a user would type, so a hand edit of "batch_size": "20000" still counts.
    return Scalar(check_value=lambda value: parse_setting(key, str(value)))


#: What each setting in settings.json holds; a value that fails is a notice and its default is used.
SETTINGS_SCHEMA: Mapping[str, Kind] = {item.name: _stored_value(item.name) for item in fields(Settings)}


class SettingsStore:
    """Reads and writes settings.json. Settings added later need no migration: a file without
    them reads their defaults."""

    def __init__(self, paths: AppPaths) -> None:
        self._file = JsonDocumentFile(paths.settings_file, FORMAT_VERSION, default=lambda: asdict(Settings()))

    @property
    def notices(self) -> list[str]:
        return self._file.notices

    @property
    def read_only_reason(self) -> str | None:
        """Why the file cannot be written (known once it has been read), or None."""
        return self._file.read_only_reason

    def get(self) -> Settings:
        document = self._file.load()
        values: dict[str, Any] = {}
        for key, kind in SETTINGS_SCHEMA.items():
            if key in document:
                try:
                    kind.check(document[key])
                except Invalid as exc:
                    reason = exc.message if exc.message.startswith(key) else f"{key}: {exc.message}"
                    self._file.notify(f"settings.json: {reason}; the default is used "
                                      "(the value stays in the file until the setting is changed)")
                    continue
                values[key] = parse_setting(key, str(document[key]))
        return Settings(**values)

    def set(self, key: str, value: Any) -> Settings:
        """Validate and store one setting."""
        return self.update({key: value})

    def update(self, values: Mapping[str, Any]) -> Settings:
        """Validate every value, then store them all in one write; nothing is written if one is invalid."""
        typed = {key: parse_setting(key, str(value)) for key, value in values.items()}
        with self._file.locked():
            document = self._file.load()
            document.update(typed)
            self._file.save(document)
        return replace(self.get(), **typed)
