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
import struct
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from decimal import Context, Decimal, InvalidOperation
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
    #: ``"jsonb"`` for JSON a PostgreSQL target stores as jsonb (parsed: keys sorted and
    #: de-duplicated); plain ``json`` keeps the exact text. Other engines ignore it.
    variant: str = ""

    def __str__(self) -> str:
        if self.variant:
            return self.variant
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
        if name == "jsonb" and first is None:
            return cls(Kind.JSON, variant="jsonb")
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
    "timestamp without time zone": Kind.TIMESTAMP,
}


@dataclass(frozen=True)
class Column:
    """One column of a query's result or of a table."""

    name: str
    type: PortableType
    nullable: bool = True
    #: The source's own type name, as the user knows it ("NUMBER(10,2)", "tinyint(1)").
    source_type: str = ""
    #: The exact type in the engine ``native_engine`` (PostgreSQL's ``format_type`` spelling:
    #: ``numeric(12,2)``, ``interval``, ``text[]``), for a target of that same engine to create
    #: verbatim; empty when the portable type says it all. A type the user picks drops it.
    native: str = ""
    native_engine: str = ""
    #: The labels of an enum type, in their order (an enum reads as text).
    labels: tuple[str, ...] = ()
    #: A MySQL/MariaDB text column's collation (it names its character set: ``utf8mb3_general_ci``),
    #: which a MySQL/MariaDB target gives the column; empty elsewhere.
    collation: str = ""

    def native_for(self, engine: str) -> str:
        """The exact type to create in ``engine``, or "" when that engine takes the portable type."""
        return self.native if self.native_engine == engine else ""


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
        checked: int = value  # a bool stays a bool
        return checked

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


#: ``time '24:00:00'``, the end of a day, which PostgreSQL's and MySQL's time types hold and Python's
#: ``time`` does not: the one time value read as a ``timedelta``.
END_OF_DAY = timedelta(hours=24)


def plain_time(value: Any, engine: str) -> time:
    """A time value for a target whose time type ends at 23:59:59.999999: 24:00:00 is refused."""
    if isinstance(value, time):
        return value
    if value == END_OF_DAY:
        raise ValueError(f"time 24:00:00 cannot be stored: {engine}'s time ends at 23:59:59.999999")
    raise ValueError(f"{value!r} is not a time")


class NegativeZeros:
    """Counts ``-0.0`` in the float columns of a batch, for a target that stores it as ``0.0``
    (MariaDB, SQLite): the run log tells how many changed, as it does for MySQL's zero dates."""

    def __init__(self, columns: Sequence[Column]) -> None:
        self._columns = [(i, c.name) for i, c in enumerate(columns) if c.type.kind in FLOAT_KINDS]
        self._counts: dict[str, int] = {}

    def count(self, rows: Sequence[Sequence[Any]]) -> None:
        for i, name in self._columns:
            values = [row[i] for row in rows]
            if not values.count(0.0):  # one pass in C: -0.0 == 0.0
                continue
            found = sum(1 for v in values if type(v) is float and v == 0.0 and math.copysign(1.0, v) < 0)
            if found:
                self._counts[name] = self._counts.get(name, 0) + found

    def count_text(self, chunk: bytes) -> None:
        """Rows as tab-separated text lines (PostgreSQL's text COPY), where -0.0 reads ``-0``."""
        if not self._columns or b"-0" not in chunk:
            return
        for line in chunk.split(b"\n"):
            if b"-0" not in line:
                continue
            fields = line.split(b"\t")
            for i, name in self._columns:
                if i < len(fields) and fields[i] == b"-0":
                    self._counts[name] = self._counts.get(name, 0) + 1

    def warnings(self, engine: str) -> tuple[str, ...]:
        if not self._counts:
            return ()
        counted = [name for _, name in self._columns if name in self._counts]
        detail = ", ".join(f"{name!r}: {self._counts[name]}" for name in counted)
        return (f"{sum(self._counts.values())} negative zero(s) (-0.0) stored as 0.0, which is all {engine} "
                f"holds ({detail})",)


class ValueRejected(Exception):
    """A value the target cannot hold; the pipeline adds the column and row to the message."""


# -- checking values for a target: one table of checks, each engine's limits as data ---------------

#: The largest float32 and the smallest normal float32 and float64 (IEEE 754).
FLOAT32_MAX = 3.4028234663852886e38
FLOAT32_MIN_NORMAL, FLOAT64_MIN_NORMAL = 1.1754943508222875e-38, 2.2250738585072014e-308
_FLOAT32 = struct.Struct("<f")


def as_float32(value: float) -> float:
    """``value`` rounded to the nearest float32 (held in a Python float, exactly); ``OverflowError``
    when it rounds past the largest float32. NaN and the infinities stay as they are."""
    result: float = _FLOAT32.unpack(_FLOAT32.pack(value))[0]
    return result


@dataclass(frozen=True)
class TargetLimits:
    """What one target engine's column types hold, for the checks of ``value_check``.

    ``nan`` is true when its float types hold NaN and the infinities, ``subnormals`` when they hold
    numbers closer to zero than the smallest normal one. ``unbounded_digits`` and
    ``unbounded_exponents`` bound a decimal column without precision (Oracle's ``NUMBER``).
    """

    engine: str
    decimal_name: str
    float_names: tuple[str, str]
    #: Ends "... cannot be stored: <no_nan>" for a NaN or infinity refused.
    no_nan: str
    nan: bool = False
    subnormals: bool = True
    bool_as_int: bool = False
    date_as_timestamp: bool = False
    binary_name: str = "binary"
    #: How a text's length is counted: "characters", or "utf-16" code units (SQL Server's nvarchar).
    text_units: str = "characters"
    unbounded_digits: int | None = None
    unbounded_exponents: tuple[int, int] | None = None
    #: The precision and scale a decimal type is checked against (the engine's widest when None).
    decimal_precision: Callable[[PortableType], tuple[int | None, int | None]] = field(
        default=lambda p: (p.precision, p.scale if p.precision else None))
    #: How a type is named in a refusal (the engine's own spelling, or the portable one).
    label: Callable[[PortableType], str] = field(default=str)


def _as_decimal(value: Any, limits: TargetLimits) -> Decimal:
    if value.__class__ is Decimal:
        return value
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{value} cannot be stored in {limits.decimal_name}: {limits.no_nan}")
    try:
        return Decimal(value) if isinstance(value, (int, str)) else Decimal(repr(value))
    except (InvalidOperation, TypeError):
        raise ValueError(f"{value!r} is not a number") from None


def decimal_check(ptype: PortableType, limits: TargetLimits) -> Callable[[Any], Decimal]:
    """Exact numbers: refused when not finite or when the column would round them."""
    precision, scale = limits.decimal_precision(ptype)
    digits_limit, exponents = limits.unbounded_digits, limits.unbounded_exponents

    def check(given: Any) -> Decimal:
        value = _as_decimal(given, limits)
        if not value.is_finite():
            raise ValueError(f"{value} cannot be stored in {limits.decimal_name}: {limits.no_nan}")
        if precision is None and digits_limit is not None:
            # Significant digits, trailing zeros aside (normalize() would round to the context's 28).
            digits = len("".join(map(str, value.as_tuple().digits)).rstrip("0")) or 1
            if digits > digits_limit:
                raise ValueError(f"{value} has {digits} significant digits; {limits.decimal_name} keeps "
                                 f"{digits_limit}")
            if exponents is not None and value and not exponents[0] <= value.adjusted() <= exponents[1]:
                raise ValueError(f"{value} is out of {limits.decimal_name}'s range (1e{exponents[0]} to "
                                 f"1e{exponents[1] + 1})")
        problem = decimal_fit_error(value, precision, scale)
        if problem:
            raise ValueError(problem)
        return value

    return check


def float_check(ptype: PortableType, limits: TargetLimits) -> Callable[[Any], float]:
    """Floats: a float32 column gets the value rounded to float32 (as the engine stores it), refused
    only when that rounding passes the largest float32; NaN, infinities and subnormal numbers as the
    engine allows."""
    single = ptype.kind is Kind.FLOAT32
    name = limits.float_names[0 if single else 1]
    smallest = 0.0 if limits.subnormals else (FLOAT32_MIN_NORMAL if single else FLOAT64_MIN_NORMAL)

    def check(given: Any) -> float:
        value = float(given)
        if not math.isfinite(value):
            if not limits.nan:
                raise ValueError(f"{value} cannot be stored: {limits.no_nan}")
            return value
        if single:
            try:
                value = as_float32(value)
            except OverflowError:
                raise ValueError(f"{value!r} is out of range for {name}") from None
        if 0 < abs(value) < smallest:
            raise ValueError(f"{value!r} is too close to zero for {limits.engine}'s {name} (it holds no "
                             "subnormal numbers)")
        return value

    return check


def bool_check(ptype: PortableType, limits: TargetLimits) -> Callable[[Any], Any]:
    as_int_value = limits.bool_as_int

    def check(value: Any) -> Any:
        if value is True or value is False or value in (0, 1):
            return int(value) if as_int_value else bool(value)
        raise ValueError(f"{value!r} is not a boolean")

    return check


def text_check(ptype: PortableType, limits: TargetLimits) -> Callable[[Any], str]:
    """Text, no longer than the column (counted as the engine counts), never bytes."""
    length = ptype.length if ptype.kind is not Kind.TEXT else None
    label, utf16 = limits.label(ptype), limits.text_units == "utf-16"

    def check(given: Any) -> str:
        if isinstance(given, (bytes, bytearray, memoryview)):
            raise ValueError(f"a bytes value cannot be stored in {label}")
        value = given if type(given) is str else str(given)
        if not utf16 or value.isascii():
            if length is not None and len(value) > length:
                raise ValueError(f"text of {len(value)} characters is longer than {label}")
            return value
        try:
            units = len(value.encode("utf-16-le")) // 2
        except UnicodeEncodeError:
            raise ValueError("text holding a lone surrogate is not valid Unicode") from None
        if length is not None and units > length:
            # nvarchar(n) counts UTF-16 code units: a character outside the BMP takes two.
            raise ValueError(f"text of {units} UTF-16 code units is longer than {label}")
        return value

    return check


def json_check(ptype: PortableType, limits: TargetLimits) -> Callable[[Any], str]:
    text = text_check(PortableType(Kind.TEXT), limits)

    def check(value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError(f"a {type(value).__name__} value is not JSON text")
        return text(str(value))  # a str subclass (an array read from PostgreSQL) as plain text

    return check


def binary_check(ptype: PortableType, limits: TargetLimits) -> Callable[[Any], bytes]:
    length = ptype.length

    def check(given: Any) -> bytes:
        if not isinstance(given, (bytes, bytearray, memoryview)):
            raise ValueError(f"a {type(given).__name__} value is not binary")
        value = given if type(given) is bytes else bytes(given)
        if length is not None and len(value) > length:
            raise ValueError(f"{len(value)} bytes are longer than {limits.binary_name}({length})")
        return value

    return check


def date_check(ptype: PortableType, limits: TargetLimits) -> Callable[[Any], date]:
    at_midnight = limits.date_as_timestamp

    def check(value: Any) -> date:
        if isinstance(value, datetime):
            raise ValueError(f"{value!r} is not a date: it is a timestamp")
        if not isinstance(value, date):
            raise ValueError(f"{value!r} is not a date")
        # Oracle's DATE carries a time of day: a date is stored at midnight.
        return datetime(value.year, value.month, value.day) if at_midnight else value

    return check


def _int_check(ptype: PortableType, limits: TargetLimits) -> Callable[[Any], int]:
    return int_kind_check(ptype.kind, limits.label(ptype))


CheckFactory = Callable[[PortableType, TargetLimits], Callable[[Any], Any]]

#: For each kind, the check of one non-NULL canonical value for a column of that kind: it returns
#: the value to send, or raises ``ValueError`` saying why the target cannot hold it (the caller
#: adds the column and row). Engines differ only in their ``TargetLimits``; a dialect that sends a
#: kind in a form of its own (Oracle's intervals, SQL Server's time as text) keeps that kind's own.
VALUE_CHECKS: Mapping[Kind, CheckFactory] = {
    Kind.INT16: _int_check, Kind.INT32: _int_check, Kind.INT64: _int_check,
    Kind.DECIMAL: decimal_check, Kind.FLOAT32: float_check, Kind.FLOAT64: float_check,
    Kind.BOOLEAN: bool_check, Kind.CHAR: text_check, Kind.VARCHAR: text_check, Kind.TEXT: text_check,
    Kind.JSON: json_check, Kind.BINARY: binary_check, Kind.DATE: date_check,
    Kind.TIMESTAMP: lambda p, t: naive_utc_timestamp, Kind.TIMESTAMPTZ: lambda p, t: naive_utc_timestamp,
    Kind.UUID: lambda p, t: uuid_text,
}


def value_check(ptype: PortableType, limits: TargetLimits) -> Callable[[Any], Any]:
    """The check for a column of ``ptype`` in the engine ``limits`` describes (see ``VALUE_CHECKS``)."""
    factory = VALUE_CHECKS.get(ptype.kind)
    if factory is None:
        raise UsageError(f"{ptype} values cannot be checked for {limits.engine}")
    return factory(ptype, limits)
