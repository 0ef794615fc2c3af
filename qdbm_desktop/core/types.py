"""The portable type model between every source and every target.

Every reader produces, for each kind, one canonical Python value; every writer accepts it:

=============  ==============================================================
kind           Python value
=============  ==============================================================
int16/32/64    ``int``
decimal        ``decimal.Decimal`` (never a float on the way)
float32/64     ``float`` (NaN and infinities included; targets that cannot
               store them refuse the row)
boolean        ``bool``
char/varchar/  ``str``
text
binary         ``bytes``
date           ``datetime.date``
time           ``datetime.time`` (no zone)
timestamp      ``datetime.datetime`` without tzinfo
timestamptz    ``datetime.datetime`` with tzinfo (any offset; targets without
               zones store it as UTC)
json           ``str`` holding the JSON text
uuid           ``uuid.UUID``
=============  ==============================================================

``None`` is NULL for every kind.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Context, Decimal
from enum import Enum
from typing import Any

from qdbm_desktop.core.errors import UsageError

_TYPE_TEXT = re.compile(r"\s*([a-z][a-z0-9_ ]*?)\s*(?:\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\))?\s*")


class Kind(str, Enum):
    INT16 = "int16"
    INT32 = "int32"
    INT64 = "int64"
    DECIMAL = "decimal"
    FLOAT32 = "float32"
    FLOAT64 = "float64"
    BOOLEAN = "boolean"
    CHAR = "char"
    VARCHAR = "varchar"
    TEXT = "text"
    BINARY = "binary"
    DATE = "date"
    TIME = "time"
    TIMESTAMP = "timestamp"
    TIMESTAMPTZ = "timestamptz"
    JSON = "json"
    UUID = "uuid"


INTEGER_KINDS = frozenset({Kind.INT16, Kind.INT32, Kind.INT64})
TEXT_KINDS = frozenset({Kind.CHAR, Kind.VARCHAR, Kind.TEXT})
FLOAT_KINDS = frozenset({Kind.FLOAT32, Kind.FLOAT64})
#: The largest precision any of our targets can hold exactly (MySQL DECIMAL(65, s)).
MAX_DECIMAL_PRECISION = 65


@dataclass(frozen=True)
class PortableType:
    """A portable type: a kind plus its length (char, varchar, binary) or precision and scale.

    ``decimal`` without precision is an unconstrained exact number (PostgreSQL ``numeric``,
    Oracle ``NUMBER``); targets that need a precision choose their widest.
    """

    kind: Kind
    length: int | None = None
    precision: int | None = None
    scale: int | None = None

    def __str__(self) -> str:
        if self.kind is Kind.DECIMAL and self.precision is not None:
            return f"decimal({self.precision},{self.scale or 0})"
        if self.kind in (Kind.CHAR, Kind.VARCHAR, Kind.BINARY) and self.length is not None:
            return f"{self.kind.value}({self.length})"
        return self.kind.value

    @classmethod
    def parse(cls, text: str) -> PortableType:
        """``decimal(12,2)``, ``varchar(20)``, ``int64``, ``timestamptz`` ... (case-insensitive).

        Common SQL spellings are accepted too: ``bigint``, ``integer``, ``numeric(p,s)``,
        ``double``, ``bool``, ``bytea``/``blob``, ``datetime``.
        """
        match = _TYPE_TEXT.fullmatch(text.lower())
        if not match:
            raise UsageError(f"{text!r} is not a type (examples: int64, decimal(12,2), varchar(50), "
                             "timestamptz)")
        name, first, second = match.group(1).strip(), match.group(2), match.group(3)
        kind = _ALIASES.get(name)
        if kind is None:
            try:
                kind = Kind(name)
            except ValueError:
                known = ", ".join(k.value for k in Kind)
                raise UsageError(f"unknown type {name!r} (known: {known})") from None
        a = int(first) if first is not None else None
        b = int(second) if second is not None else None
        if kind is Kind.DECIMAL:
            if a is not None and not 1 <= a <= 1000:
                raise UsageError(f"decimal precision {a} is out of range")
            if a is not None and b is not None and b > a:
                raise UsageError(f"decimal scale {b} is larger than its precision {a}")
            return cls(kind, precision=a, scale=b if a is not None else None)
        if b is not None or (a is not None and kind not in (Kind.CHAR, Kind.VARCHAR, Kind.BINARY)):
            raise UsageError(f"{kind.value} takes no size in {text!r}")
        if a is not None and a < 1:
            raise UsageError(f"a length must be at least 1 in {text!r}")
        return cls(kind, length=a)


_ALIASES = {
    "smallint": Kind.INT16, "int2": Kind.INT16,
    "int": Kind.INT32, "integer": Kind.INT32, "int4": Kind.INT32,
    "bigint": Kind.INT64, "int8": Kind.INT64,
    "numeric": Kind.DECIMAL, "number": Kind.DECIMAL,
    "real": Kind.FLOAT32, "float4": Kind.FLOAT32,
    "double": Kind.FLOAT64, "double precision": Kind.FLOAT64, "float": Kind.FLOAT64, "float8": Kind.FLOAT64,
    "bool": Kind.BOOLEAN,
    "character varying": Kind.VARCHAR, "string": Kind.TEXT,
    "bytea": Kind.BINARY, "blob": Kind.BINARY, "varbinary": Kind.BINARY, "bytes": Kind.BINARY,
    "datetime": Kind.TIMESTAMP, "timestamp with time zone": Kind.TIMESTAMPTZ,
    "timestamp without time zone": Kind.TIMESTAMP, "jsonb": Kind.JSON,
}


@dataclass(frozen=True)
class Column:
    """One column of a query's result or of a table."""

    name: str
    type: PortableType
    nullable: bool = True
    #: The source's own type name, as the user knows it ("NUMBER(10,2)", "tinyint(1)").
    source_type: str = ""


#: The values each integer kind holds.
INT_RANGES: Mapping[Kind, tuple[int, int]] = {
    Kind.INT16: (-(2**15), 2**15 - 1),
    Kind.INT32: (-(2**31), 2**31 - 1),
    Kind.INT64: (-(2**63), 2**63 - 1),
}
def int_range_check(low: int, high: int, type_name: str) -> Callable[[Any], int]:
    """A converter that passes whole numbers within [low, high] as ints (see ``as_int``) and refuses
    others, naming the value and the type."""

    def check(value: Any) -> int:
        if type(value) is not int and type(value) is not bool:  # a bool is already one
            value = as_int(value, type_name)
        if not low <= value <= high:
            raise ValueError(f"{value} is out of range for {type_name}")
        return value

    return check


_INTEGER_TEXT = re.compile(r"-?[0-9]{1,40}")
_VALUE_KINDS = {str: "text", Decimal: "decimal", float: "float", bytes: "binary"}


def shown_value(value: Any, limit: int = 40) -> str:
    """A value as a message shows it: text quoted and cut short, numbers as they are written."""
    if isinstance(value, str):
        return repr(value if len(value) <= limit else value[:limit] + "...")
    text = str(value) if isinstance(value, (Decimal, float, int)) else repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def as_int(value: Any, type_name: str = "an integer column") -> int:
    """``value`` as an int when it is a whole number: a bool, an int, an integral decimal or float, or
    text holding an integer literal (as the engines themselves take it). Anything else is refused
    naming the value, its kind and ``type_name``."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, (Decimal, float)) and value == value and not math.isinf(value) \
            and value == int(value):
        return int(value)
    if isinstance(value, str) and _INTEGER_TEXT.fullmatch(value):
        return int(value)
    kind = _VALUE_KINDS.get(type(value), type(value).__name__)
    raise ValueError(f"{shown_value(value)} ({kind}) cannot be stored in {type_name}: "
                     "it is not a whole number")


def int_kind_check(kind: Kind, label: str) -> Callable[[Any], int]:
    """A converter to an int within ``kind``'s range, naming the target type ``label`` when refused."""
    return int_range_check(*INT_RANGES[kind], label)


def naive_utc_timestamp(value: Any) -> datetime:
    """A timestamp for a column without zone: a zoned instant as naive UTC, a date at midnight."""
    if not isinstance(value, datetime):
        if isinstance(value, date):
            return datetime(value.year, value.month, value.day)
        raise ValueError(f"{value!r} is not a timestamp")
    if value.tzinfo is not None:
        return value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


def uuid_text(value: Any) -> str:
    """A UUID (object or text) in its canonical text form."""
    try:
        return str(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)))
    except ValueError:
        raise ValueError(f"{value!r} is not a UUID") from None


#: Wide enough that quantizing any decimal we meet is exact, never rounded by the context.
_EXACT = Context(prec=100_000, Emax=999_999_999, Emin=-999_999_999)


def decimal_fit_error(value: Decimal, precision: int | None, scale: int | None) -> str | None:
    """Why ``value`` cannot be stored in decimal(precision, scale) without rounding; None if it fits.

    Trailing zeros past the scale are harmless (``1.50`` fits scale 1); any other digit there
    would be rounded by the target, so it is refused rather than changed.
    """
    if not value.is_finite():
        return f"{value} is not a finite number"
    if scale is not None:
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and -exponent > scale and \
                value != value.quantize(Decimal(1).scaleb(-scale), context=_EXACT):
            return f"{value} has more than {scale} decimal places"
    if precision is not None:
        whole_digits = precision - (scale or 0)
        if value and value.adjusted() + 1 > whole_digits:
            return f"{value} is out of range for decimal({precision},{scale or 0}): it does not fit"
    return None


class ValueRejected(Exception):
    """A value the target cannot hold; the pipeline adds the column and row to the message."""
