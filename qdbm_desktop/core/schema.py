"""The one check every file the app reads back passes: what each stored field may hold.

Each store declares its entries with the small kinds here (``Text``, ``Integer``, ``Record`` ...)
and reads them through :func:`check_entries`: an entry that fails is named with the field and
the reason, skipped, and kept in the file as it was; every other entry keeps working.

Why not jsonschema or pydantic: most of what is checked is not a JSON type but a meaning the
app already knows how to check (an IANA time zone, a five-field cron expression, an ISO 8601
time with its offset, a load mode, a port range tied to constants in the code), and each
failure must read as one line a user can act on ("schedule 'a1': trigger.every_seconds: -5 is
below the minimum of 60"). A JSON Schema would need a custom format hook for nearly every
field and its messages reworded; pydantic would replace the frozen dataclasses the GUI and the
CLI share and ship a compiled core in the installer. These kinds reuse the existing checks.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from qdbm_desktop.core.errors import QdbmError, UsageError

PathPart = str | int
#: A shown value is cut here: a notice is one line, whatever a hand edit pasted into a field.
_SHOWN_CHARS = 40


class Invalid(Exception):
    """A stored value that does not fit its schema; ``path`` says where (``trigger.every_seconds``)."""

    def __init__(self, message: str, path: Sequence[PathPart] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.path = tuple(path)

    def inside(self, part: PathPart) -> Invalid:
        return Invalid(self.message, (part, *self.path))

    @property
    def where(self) -> str:
        text = ""
        for part in self.path:
            text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
        return text

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.path else self.message


def shown(value: Any) -> str:
    """A stored value as a notice shows it: short, one line, never a whole pasted blob."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    if len(text) > _SHOWN_CHARS:
        text = text[: _SHOWN_CHARS - 3] + "..."
    return text


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int):
        return "a whole number"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


class Kind:
    """What one stored value may be. ``check`` raises ``Invalid``; it never changes the value."""

    #: How the expected value is named in a message ("text", "a whole number" ...).
    expected = "a value"

    def check(self, value: Any) -> None:
        raise NotImplementedError

    def wrong_type(self, value: Any) -> Invalid:
        if value is None:
            return Invalid(f"null instead of {self.expected}")
        return Invalid(f"{shown(value)} is {type_name(value)}, not {self.expected}")


def _semantic(check: Callable[[Any], object] | None, value: Any) -> None:
    """Run an existing check of the app (which raises ``QdbmError`` or ``ValueError``) as a schema check."""
    if check is None:
        return
    try:
        check(value)
    except Invalid:
        raise
    except (QdbmError, ValueError, OverflowError, TypeError) as exc:
        raise Invalid(str(exc) or type(exc).__name__) from None


@dataclass(frozen=True)
class Anything(Kind):
    expected = "a value"

    def check(self, value: Any) -> None:
        return None


@dataclass(frozen=True)
class Text(Kind):
    """A string: ``non_empty`` refuses blank text; ``check`` is a check of the app run on it."""

    max_length: int | None = None
    non_empty: bool = False
    check_text: Callable[[str], object] | None = None
    expected = "text"

    def check(self, value: Any) -> None:
        if not isinstance(value, str):
            raise self.wrong_type(value)
        if self.non_empty and not value.strip():
            raise Invalid("is empty")
        if self.max_length is not None and len(value) > self.max_length:
            raise Invalid(f"is {len(value):,} characters long, more than {self.max_length:,}")
        _semantic(self.check_text, value)


@dataclass(frozen=True)
class Scalar(Kind):
    """Text, a number or true/false (a setting a user may have typed either way), then ``check_value``."""

    check_value: Callable[[Any], object] | None = None
    expected = "text, a number or true/false"

    def check(self, value: Any) -> None:
        if value is None or isinstance(value, (list, dict)):
            raise self.wrong_type(value)
        _semantic(self.check_value, value)


@dataclass(frozen=True)
class Choice(Kind):
    values: tuple[str, ...]
    expected = "text"

    def check(self, value: Any) -> None:
        if not isinstance(value, str):
            raise self.wrong_type(value)
        if value not in self.values:
            raise Invalid(f"{shown(value)} is not one of {', '.join(self.values)}")


@dataclass(frozen=True)
class Integer(Kind):
    """A whole number in ``[minimum, maximum]`` (true/false, 5.0, NaN and text are refused)."""

    minimum: int | None = None
    maximum: int | None = None
    expected = "a whole number"

    def check(self, value: Any) -> None:
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.wrong_type(value)
        if self.minimum is not None and value < self.minimum:
            raise Invalid(f"{shown(value)} is below the minimum of {self.minimum:,}")
        if self.maximum is not None and value > self.maximum:
            raise Invalid(f"{shown(value)} is above the maximum of {self.maximum:,}")


@dataclass(frozen=True)
class Boolean(Kind):
    expected = "true or false"

    def check(self, value: Any) -> None:
        if not isinstance(value, bool):
            raise self.wrong_type(value)


def check_aware_time(text: str) -> None:
    """An ISO 8601 date and time that carries its offset (a naive one cannot be compared safely)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise Invalid(f"{shown(text)} is not an ISO 8601 date and time") from None
    if moment.tzinfo is None:
        raise Invalid(f"{shown(text)} has no time zone offset (such as +00:00)")


@dataclass(frozen=True)
class Timestamp(Kind):
    """An ISO 8601 date and time with its offset, as the app writes them."""

    expected = "a date and time"

    def check(self, value: Any) -> None:
        if not isinstance(value, str):
            raise self.wrong_type(value)
        check_aware_time(value)


@dataclass(frozen=True)
class Nullable(Kind):
    """``inner``, or null (the app writes null, or leaves the field out, for "not set")."""

    inner: Kind

    @property
    def expected(self) -> str:  # type: ignore[override]
        return f"{self.inner.expected} or null"

    def check(self, value: Any) -> None:
        if value is not None:
            self.inner.check(value)


@dataclass(frozen=True)
class ListOf(Kind):
    item: Kind
    max_items: int | None = None
    non_empty: bool = False
    unique: bool = False
    expected = "a list"

    def check(self, value: Any) -> None:
        if not isinstance(value, list):
            raise self.wrong_type(value)
        if self.non_empty and not value:
            raise Invalid("is an empty list")
        if self.max_items is not None and len(value) > self.max_items:
            raise Invalid(f"holds {len(value):,} items, more than {self.max_items:,}")
        for index, item in enumerate(value):
            try:
                self.item.check(item)
            except Invalid as exc:
                raise exc.inside(index) from None
        if self.unique:
            seen: list[Any] = []
            for item in value:
                if item in seen:
                    raise Invalid(f"holds {shown(item)} twice")
                seen.append(item)


@dataclass(frozen=True)
class MapOf(Kind):
    """An object whose keys are free text (option names, window names) and values all of one kind."""

    value: Kind
    check_key: Callable[[str], object] | None = None
    expected = "an object"

    def check(self, value: Any) -> None:
        if not isinstance(value, dict):
            raise self.wrong_type(value)
        for key, item in value.items():
            try:
                _semantic(self.check_key, key)
                self.value.check(item)
            except Invalid as exc:
                raise exc.inside(key) from None


@dataclass(frozen=True)
class Record(Kind):
    """An object with named fields. Fields not declared are kept and ignored (a newer minor version
    may add some); ``required`` fields must be present; ``check_record`` is a check across fields,
    run once every field has the right type."""

    fields: Mapping[str, Kind]
    required: frozenset[str] = field(default_factory=frozenset)
    check_record: Callable[[Mapping[str, Any]], object] | None = None
    expected = "an object"

    def check(self, value: Any) -> None:
        if not isinstance(value, dict):
            raise self.wrong_type(value)
        for name in sorted(self.required):
            if name not in value:
                raise Invalid("is missing", (name,))
        for name, kind in self.fields.items():
            if name in value:
                try:
                    kind.check(value[name])
                except Invalid as exc:
                    raise exc.inside(name) from None
        _semantic(self.check_record, value)


def keep_undeclared(new: dict[str, Any], old: Any, record: Record) -> dict[str, Any]:
    """``new`` with the fields of ``old`` that ``record`` does not declare: what a newer minor version
    (or a user's note) put in an entry is not lost when this version rewrites the entry."""
    if not isinstance(old, dict):
        return new
    extra = {key: value for key, value in old.items() if key not in record.fields and key not in new}
    return {**new, **extra}


@dataclass(frozen=True)
class BadEntry:
    """An entry of a stored list that failed its check: where it is, what it is called, and why."""

    index: int
    label: str
    reason: str


def entry_label(entry: Any, index: int, key: str | None) -> str:
    """"entry 3 ('pg1')": the position a user finds it at (counted from 1), and its name when it has one."""
    name = entry.get(key) if key is not None and isinstance(entry, dict) else None
    if isinstance(name, str) and name.strip():
        return f"{shown(name)} (entry {index + 1})"
    return f"entry {index + 1}"


def check_entries(entries: Iterable[Any], record: Kind, *, key: str | None = None,
                  unique_key: bool = False) -> tuple[list[tuple[int, dict[str, Any]]], list[BadEntry]]:
    """Split a stored list into the entries that pass ``record`` (with their index) and the bad ones.

    With ``unique_key`` a second good entry whose ``key`` equals (ignoring case) an earlier one's
    is bad too: which of two same-named connections a job meant cannot be guessed.
    """
    good: list[tuple[int, dict[str, Any]]] = []
    bad: list[BadEntry] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(entries):
        label = entry_label(entry, index, key)
        try:
            record.check(entry)
        except Invalid as exc:
            bad.append(BadEntry(index, label, str(exc)))
            continue
        except RecursionError:
            bad.append(BadEntry(index, label, "it is nested too deeply"))
            continue
        if unique_key and key is not None:
            folded = str(entry.get(key, "")).casefold()
            if folded in seen:
                bad.append(BadEntry(index, label, f"entry {seen[folded] + 1} has the same {key}"))
                continue
            seen[folded] = index
        good.append((index, entry))
    return good, bad


def bad_entry_notice(file_name: str, what: str, bad: BadEntry) -> str:
    """The one line a user reads about a bad entry (CLI: stderr; GUI: the notice banner)."""
    return (f"{file_name}: {what} {bad.label} is skipped: {bad.reason}; it is kept in the file unchanged "
            "(fix or remove it there)")


def check_shape(document: Mapping[str, Any], shape: Mapping[str, Kind]) -> str | None:
    """Why a whole document has the wrong shape (``"connections" is text, not a list``), or None."""
    for name, kind in shape.items():
        if name in document:
            try:
                kind.check(document[name])
            except Invalid as exc:
                return f"its {shown(name)} field is wrong ({exc})"
    return None


_PRINTABLE = re.compile(r"[^\x00-\x1f\x7f]*")


def check_printable(text: str) -> None:
    if not _PRINTABLE.fullmatch(text):
        raise Invalid(f"{shown(text)} holds control characters")


def require(kind: Kind, value: Any, what: str) -> None:
    """``UsageError`` naming the field when ``value`` does not pass ``kind`` (for a file read whole)."""
    try:
        kind.check(value)
    except Invalid as exc:
        name = value.get("name") if isinstance(value, dict) else None
        named = f" {shown(name)}" if isinstance(name, str) and name.strip() else ""
        raise UsageError(f"{what}{named}: {exc}") from None
    except RecursionError:
        raise UsageError(f"{what} is nested too deeply") from None
