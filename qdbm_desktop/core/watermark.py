"""An incremental job's high-water mark: the largest value of its incremental column loaded so far.

The mark is stored as its type and its text, never through a float: a timestamp keeps its
microseconds, a decimal every digit, so the next run starts exactly where the last one ended.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from qdbm_desktop.core.errors import UsageError

#: The mark's types, by the Python value the source's reader gives for the column.
TYPES = ("int", "decimal", "timestamptz", "timestamp", "date", "text")


@dataclass(frozen=True)
class Watermark:
    """A mark: ``type`` (one of ``TYPES``) and the value's exact text."""

    type: str
    text: str

    @classmethod
    def of(cls, value: Any) -> Watermark:
        """The mark for a value read from the source; ``UsageError`` for a type that cannot be one."""
        if isinstance(value, bool):
            raise UsageError("a boolean column cannot be an incremental column")
        if isinstance(value, int):
            return cls("int", str(value))
        if isinstance(value, Decimal):
            if not value.is_finite():
                raise UsageError(f"{value} cannot be a mark")
            return cls("decimal", format(value, "f"))
        if isinstance(value, datetime):
            kind = "timestamptz" if value.tzinfo is not None else "timestamp"
            if value.tzinfo is not None:
                value = value.astimezone(timezone.utc)
            return cls(kind, value.isoformat(timespec="microseconds"))
        if isinstance(value, date):
            return cls("date", value.isoformat())
        if isinstance(value, str):
            return cls("text", value)
        raise UsageError(f"a column of {type(value).__name__} values cannot be an incremental column "
                         "(use an integer, decimal, date, timestamp or text column)")

    @classmethod
    def parse(cls, text: str, type_: str | None = None) -> Watermark:
        """A mark typed by a user: read as ``type_`` (the column's, when known), else by its form."""
        text = text.strip()
        if type_ is None:
            type_ = _guess_type(text)
        mark = cls(type_, text)
        try:
            value = mark.value()
        except (ValueError, InvalidOperation, UsageError):
            raise UsageError(f"{text!r} is not a {_TYPE_NAMES.get(type_, type_)} value") from None
        return cls.of(value)

    def value(self) -> Any:
        """The mark as the Python value bound to the source query."""
        if self.type == "int":
            return int(self.text)
        if self.type == "decimal":
            return Decimal(self.text)
        if self.type == "timestamptz":
            moment = datetime.fromisoformat(self.text)
            if moment.tzinfo is None:
                raise ValueError("no time zone")
            return moment
        if self.type == "timestamp":
            moment = datetime.fromisoformat(self.text)
            if moment.tzinfo is not None:
                raise ValueError("a time zone where the column has none")
            return moment
        if self.type == "date":
            return date.fromisoformat(self.text)
        if self.type == "text":
            return self.text
        raise UsageError(f"unknown mark type {self.type!r} (one of {', '.join(TYPES)})")

    def minus(self, lookback: Lookback) -> Any:
        """The mark's value less the lookback window (a time for timestamps, a count for numbers)."""
        value = self.value()
        if lookback.seconds is not None:
            if self.type not in ("timestamptz", "timestamp", "date"):
                raise UsageError(f"a lookback of {lookback.text} (a time) needs a date or timestamp "
                                 f"incremental column; this one holds {_TYPE_NAMES[self.type]} values "
                                 "(give a number)")
            return value - timedelta(seconds=lookback.seconds)
        if self.type not in ("int", "decimal"):
            raise UsageError(f"a lookback of {lookback.text} (a number) needs a numeric incremental column; "
                             f"this one holds {_TYPE_NAMES[self.type]} values (give a time such as 10m)")
        return value - (lookback.count or 0)

    def to_json(self) -> dict[str, str]:
        return {"type": self.type, "text": self.text}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Watermark:
        type_, text = data.get("type"), data.get("text")
        if type_ not in TYPES or not isinstance(text, str):
            raise UsageError(f"not a mark: {dict(data)!r}")
        mark = cls(str(type_), text)
        mark.value()
        return mark

    def __str__(self) -> str:
        return f"{self.text} ({_TYPE_NAMES[self.type]})"


_TYPE_NAMES = {"int": "integer", "decimal": "decimal", "timestamptz": "timestamp with time zone",
               "timestamp": "timestamp", "date": "date", "text": "text"}


def _guess_type(text: str) -> str:
    if re.fullmatch(r"[+-]?\d+", text):
        return "int"
    if re.fullmatch(r"[+-]?(\d+\.\d*|\.\d+)", text):
        return "decimal"
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return "date"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return "text"
    return "timestamptz" if moment.tzinfo is not None else "timestamp"


@dataclass(frozen=True)
class Lookback:
    """How far before the mark a run reads again: minutes/hours (``10m``, ``2h``) or a count (``500``)."""

    text: str
    seconds: int | None = None
    count: int | None = None

    @classmethod
    def parse(cls, text: str) -> Lookback:
        text = text.strip()
        match = re.fullmatch(r"(\d+)\s*([smhd]?)", text)
        if not match or int(match.group(1)) <= 0:
            raise UsageError(f"a lookback is a time such as 30s, 10m, 2h, 1d, or a positive number of "
                             f"values such as 500, not {text!r}")
        number, unit = int(match.group(1)), match.group(2)
        if not unit:
            return cls(text, count=number)
        return cls(text, seconds=number * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit])
