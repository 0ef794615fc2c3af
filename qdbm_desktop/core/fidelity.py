"""The fidelity report: for each mapped column, whether the target keeps every value as the source had it.

Each column gets one verdict, with a one-line reason:

* **exact**: the target type is the source's type;
* **converted**: a lossless change of form (``boolean`` into ``TINYINT(1)``, ``uuid`` into
  ``CHAR(36)``, an integer into a wider one): every value comes back the same;
* **lossy**: the chosen target type cannot hold every value the source type can (a narrower type,
  length or precision, a zone dropped, ``float64`` into ``float32``, ``json`` into ``jsonb``); the
  values that do not fit are refused row by row, or changed where the engine gives no choice. A
  run with a lossy column needs the user's consent (``--accept-lossy``);
* **refused**: the target cannot take the column at all; the run stops before anything is created.

Values that only some rows hold (``-0.0``, NaN, a 4-byte character, a text longer than the column)
are checked in the preview's rows (:func:`check_values`), naming the column and the row.

The classifier is generic over kinds: the facts that differ between engines are data
(:data:`ENGINES`, :data:`KIND_CHANGES`, :data:`NATIVE_LOSSES`), and a kind it knows nothing about is
exact when both sides have the same type and lossy otherwise (never silently "exact").
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum
from typing import Any

from qdbm_desktop.core.dialects.base import Dialect, LoadMode, TableName
from qdbm_desktop.core.errors import UsageError
from qdbm_desktop.core.mapping import kept_positions
from qdbm_desktop.core.run_model import MigrationRequest
from qdbm_desktop.core.types import (
    FLOAT32_MAX,
    FLOAT_KINDS,
    INT_RANGES,
    INTEGER_KINDS,
    TEXT_KINDS,
    Column,
    Kind,
    PortableType,
    as_float32,
    decimal_fit_error,
    shown_value,
)


class Verdict(str, Enum):
    EXACT = "exact"
    CONVERTED = "converted"
    LOSSY = "lossy"
    REFUSED = "refused"


@dataclass(frozen=True)
class EngineFacts:
    """What one target engine's types hold beyond what the portable type says."""

    #: Floats keep the sign of zero (-0.0).
    negative_zero: bool = True
    #: Floats hold NaN and the infinities.
    nan: bool = True
    #: Timestamps keep a zone or offset (else a zoned instant is stored as UTC).
    zones: bool = True
    #: Kinds stored in another form, losslessly: kind value -> how.
    forms: Mapping[str, str] = field(default_factory=dict)


#: Per target engine (the dialect's name): the facts the classifier needs.
ENGINES: Mapping[str, EngineFacts] = {
    "postgresql": EngineFacts(),
    "mysql": EngineFacts(negative_zero=False, nan=False, zones=False, forms={
        "boolean": "stored as TINYINT(1) holding 0 and 1",
        "uuid": "stored as its 36-character text",
        "timestamptz": "stored as UTC in DATETIME(6): the instant is kept",
        "json": "stored as JSON text (MariaDB keeps the text as written)",
    }),
    "sqlite": EngineFacts(negative_zero=False, nan=False, zones=False, forms={
        "boolean": "stored as the integers 0 and 1",
        "uuid": "stored as its 36-character text",
        "decimal": "stored as its exact text",
        "date": "stored as ISO 8601 text", "time": "stored as ISO 8601 text",
        "timestamp": "stored as ISO 8601 text",
        "timestamptz": "stored as ISO 8601 text in UTC: the instant is kept",
        "json": "stored as the JSON text",
    }),
    "sqlserver": EngineFacts(negative_zero=False, nan=False, forms={
        "boolean": "stored as bit (0 and 1)",
        "json": "stored as the JSON text in nvarchar(max)",
        "uuid": "stored as uniqueidentifier",
    }),
    "oracle": EngineFacts(forms={
        "boolean": "stored as NUMBER(1) holding 0 and 1 (or BOOLEAN where the server has it)",
        "uuid": "stored as its 36-character text",
        "date": "stored as DATE at midnight",
        "time": "stored as INTERVAL DAY TO SECOND",
        "json": "stored as the JSON text in a CLOB",
    }),
}
_DEFAULT_ENGINE = EngineFacts(negative_zero=False, nan=False, zones=False)

#: Lossless changes of kind (source kind value, target kind value) -> reason. A pair missing here
#: is lossy unless a rule below proves otherwise. Kind values are plain text so that kinds added
#: later (arrays, intervals ...) can be listed without touching the rules.
KIND_CHANGES: Mapping[tuple[str, str], str] = {
    ("float32", "float64"): "float32 into float64: every value is kept",
    ("date", "timestamp"): "a date becomes a timestamp at midnight",
    ("timestamp", "timestamptz"): "a timestamp without zone is read as UTC",
    ("boolean", "int16"): "true and false become 1 and 0",
    ("boolean", "int32"): "true and false become 1 and 0",
    ("boolean", "int64"): "true and false become 1 and 0",
    ("uuid", "char"): "stored as its 36-character text",
    ("uuid", "varchar"): "stored as its 36-character text",
    ("json", "text"): "the JSON text is kept as text",
    ("array", "json"): "stored as a JSON array", ("interval", "text"): "stored as ISO 8601 text",
}

#: Losses of a native form: (source type's base name, target native base name) -> reason.
NATIVE_LOSSES: Mapping[tuple[str, str], str] = {
    ("json", "jsonb"): "jsonb reorders keys and keeps only the last of duplicate keys",
}

#: Whole digits each integer kind needs in a decimal.
_INT_DIGITS = {Kind.INT16: 5, Kind.INT32: 10, Kind.INT64: 19}
#: Integers a float's mantissa holds exactly.
_FLOAT_EXACT_INT = {Kind.FLOAT32: {Kind.INT16}, Kind.FLOAT64: {Kind.INT16, Kind.INT32}}
_SIZE = re.compile(r"\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)")
_BASE_NAME = re.compile(r"\s*([a-z_][a-z0-9_ ]*?)\s*(?:\(|$)")


@dataclass(frozen=True)
class ColumnVerdict:
    """One mapped column's verdict."""

    source: str
    target: str
    source_type: str
    target_type: str
    verdict: Verdict
    reason: str

    def as_json(self) -> dict[str, str]:
        return {"column": self.source, "target": self.target, "source_type": self.source_type,
                "target_type": self.target_type, "verdict": self.verdict.value, "reason": self.reason}


@dataclass(frozen=True)
class ValueIssue:
    """A value of the preview that the target cannot hold as it is."""

    column: str
    #: The row's number in the query's result, from 1.
    row: int
    value: str
    reason: str

    def __str__(self) -> str:
        return f"column {self.column!r}, row {self.row}: {self.value} {self.reason}"

    def as_json(self) -> dict[str, Any]:
        return {"column": self.column, "row": self.row, "value": self.value, "reason": self.reason}


@dataclass(frozen=True)
class FidelityReport:
    columns: list[ColumnVerdict]
    values: list[ValueIssue] = field(default_factory=list)
    rows_checked: int = 0

    def count(self, verdict: Verdict) -> int:
        return sum(1 for c in self.columns if c.verdict is verdict)

    def of(self, verdict: Verdict) -> list[ColumnVerdict]:
        return [c for c in self.columns if c.verdict is verdict]

    def summary(self) -> str:
        """``12 exact, 2 converted, 1 lossy`` (verdicts with no column left out)."""
        parts = [f"{self.count(v)} {v.value}" for v in Verdict if self.count(v)]
        line = ", ".join(parts) or "no columns"
        if self.values:
            line += (f"; {len(self.values)} value(s) in the first {self.rows_checked} rows the target "
                     "cannot hold")
        return line

    def as_json(self) -> dict[str, Any]:
        return {"columns": [c.as_json() for c in self.columns],
                "summary": {v.value: self.count(v) for v in Verdict},
                "rows_checked": self.rows_checked, "values": [v.as_json() for v in self.values]}


def _base_name(type_name: str) -> str:
    match = _BASE_NAME.match(type_name.lower())
    return match.group(1) if match else type_name.lower()


def _effective(ptype: PortableType, native: str) -> PortableType:
    """The type the target column really has: a decimal without precision gets the native one."""
    if ptype.kind is Kind.DECIMAL and ptype.precision is None:
        size = _SIZE.search(native)
        if size:
            return PortableType(Kind.DECIMAL, precision=int(size.group(1)), scale=int(size.group(2) or 0))
    return ptype


def _decimal_loss(source: PortableType, target: PortableType) -> str | None:
    if target.precision is None:
        return None
    if source.precision is None:
        return f"an unconstrained number into {target}: more digits are refused"
    s_scale, t_scale = source.scale or 0, target.scale or 0
    if t_scale < s_scale:
        return f"{source} into {target}: digits past {t_scale} decimal places are refused"
    if target.precision - t_scale < source.precision - s_scale:
        return f"{source} into {target}: larger numbers are refused"
    return None


def _length_loss(source: PortableType, target: PortableType) -> str | None:
    if target.length is None or target.kind is Kind.TEXT:
        return None
    if source.length is None or source.kind is Kind.TEXT or source.length > target.length:
        return f"values longer than {target.length} are refused"
    return None


def _same_kind(source: PortableType, target: PortableType) -> str | None:
    """Why ``target`` holds less than ``source`` of the same kind; None when it holds all."""
    if source.kind is Kind.DECIMAL:
        return _decimal_loss(source, target)
    if source.kind in (Kind.CHAR, Kind.VARCHAR, Kind.BINARY):
        return _length_loss(source, target)
    return None


#: Families of kinds: a value never crosses from one to another except into or out of text (bytes
#: never become text, nor text bytes). Kinds missing here (added later) are never refused.
FAMILIES: Mapping[str, str] = {
    **{k: "number" for k in ("int16", "int32", "int64", "decimal", "float32", "float64", "boolean")},
    **{k: "text" for k in ("char", "varchar", "text", "json", "uuid")},
    "binary": "binary",
    **{k: "time" for k in ("date", "time", "timestamp", "timestamptz")},
}


def _refusal(source: PortableType, target: PortableType) -> str | None:
    """Why no value of ``source`` can go into ``target``; None when some can."""
    s, t = FAMILIES.get(source.kind.value), FAMILIES.get(target.kind.value)
    if s is None or t is None or s == t or "binary" not in (s, t) and "text" in (s, t):
        return None
    return f"a {source.kind.value} value cannot be stored in a {target.kind.value} column"


def _kind_change(source: PortableType, target: PortableType) -> tuple[Verdict, str]:
    """The verdict of a change of kind (the rules first, then the data, else lossy)."""
    s, t = source.kind, target.kind
    refusal = _refusal(source, target)
    if refusal:
        return Verdict.REFUSED, refusal
    if s in INTEGER_KINDS and t in INTEGER_KINDS:
        if INT_RANGES[t][1] >= INT_RANGES[s][1]:
            return Verdict.CONVERTED, f"{s.value} into the wider {t.value}"
        return Verdict.LOSSY, f"{s.value} into {t.value}: values outside {t.value}'s range are refused"
    if s in INTEGER_KINDS and t is Kind.DECIMAL:
        whole = None if target.precision is None else target.precision - (target.scale or 0)
        if whole is None or whole >= _INT_DIGITS[s]:
            return Verdict.CONVERTED, f"{s.value} into {target}: every value fits"
        return Verdict.LOSSY, f"{s.value} into {target}: numbers of more than {whole} digits are refused"
    if s in INTEGER_KINDS and t in FLOAT_KINDS:
        if s in _FLOAT_EXACT_INT[t]:
            return Verdict.CONVERTED, f"{s.value} into {t.value}: every value is exact"
        return Verdict.LOSSY, f"{s.value} into {t.value}: large integers are rounded"
    if t in TEXT_KINDS:
        if t is Kind.TEXT or target.length is None:
            return Verdict.CONVERTED, f"{s.value} stored as its text form"
        if s in TEXT_KINDS or s is Kind.JSON:
            return Verdict.LOSSY, f"values longer than {target.length} characters are refused"
        if s is Kind.UUID and target.length >= 36:
            return Verdict.CONVERTED, "stored as its 36-character text"
        return Verdict.LOSSY, (f"{s.value} as text of at most {target.length} characters: longer ones are "
                               "refused")
    known = KIND_CHANGES.get((s.value, t.value))
    if known:
        return Verdict.CONVERTED, known
    if s is Kind.FLOAT64 and t is Kind.FLOAT32:
        return Verdict.LOSSY, "float64 into float32: values are rounded to 7 digits"
    if s is Kind.TIMESTAMPTZ and t is Kind.TIMESTAMP:
        return Verdict.LOSSY, "the time zone is dropped: instants are stored as UTC without a zone"
    return Verdict.LOSSY, f"{s.value} into {t.value}: values are changed or refused when they do not fit"


#: Source engines whose zoned timestamps keep each value's own offset (PostgreSQL, MySQL and SQLite
#: as QDBM writes it hold instants).
OFFSET_ENGINES = frozenset({"oracle", "sqlserver"})


def _held_offsets(column: Column, source_engine: str) -> bool:
    """Whether the source's zoned timestamps carry an offset of their own (PostgreSQL's are instants)."""
    name = column.source_type.lower()
    return "offset" in name or ("time zone" in name and source_engine in OFFSET_ENGINES)


def _changed_kind(source: Column, target: PortableType, facts: EngineFacts,
                  existing: bool) -> tuple[Verdict, str]:
    s = source.type
    if s.kind is Kind.TIMESTAMPTZ and target.kind is Kind.TIMESTAMP and not facts.zones:
        return Verdict.CONVERTED, "the target has no zones: instants are stored as UTC"
    if existing and s.kind in TEXT_KINDS and target.kind in TEXT_KINDS and s.length is None:
        return Verdict.CONVERTED, (f"text of unknown length into {target}: values are checked row by row "
                                   "(longer ones are refused)")
    return _kind_change(s, target)


def _size_unknown(ptype: PortableType) -> bool:
    """A source column whose result carries no size (a wrapped or computed column): into an existing
    table its values are checked row by row, not judged lossy for a size it may well fit."""
    return ptype.length is None and ptype.precision is None and ptype.kind is not Kind.TEXT


def classify(source: Column, target: Column, native: str, target_engine: str, source_engine: str = "",
             refusal: str | None = None, existing: bool = False) -> ColumnVerdict:
    """The verdict of ``source`` (the query's column) going into ``target`` (its mapped or existing
    column), whose native type on ``target_engine`` is ``native``; ``refusal`` is why the target
    cannot take it at all, when it cannot."""

    def made(verdict: Verdict, reason: str) -> ColumnVerdict:
        return ColumnVerdict(source.name, target.name, source.source_type or str(source.type),
                             native or str(target.type), verdict, reason)

    if refusal is not None:
        return made(Verdict.REFUSED, refusal)
    facts = ENGINES.get(target_engine, _DEFAULT_ENGINE)
    s_type, t_type = source.type, _effective(target.type, native)
    if s_type.kind is not t_type.kind:
        return made(*_changed_kind(source, t_type, facts, existing))
    loss = _same_kind(s_type, t_type)
    if loss and not (existing and _size_unknown(s_type)):
        return made(Verdict.LOSSY, loss)
    native_loss = NATIVE_LOSSES.get((_base_name(source.source_type), _base_name(native)))
    if native_loss:
        return made(Verdict.LOSSY, native_loss)
    kind = s_type.kind
    if kind is Kind.TIMESTAMPTZ and not facts.zones and _held_offsets(source, source_engine):
        return made(Verdict.LOSSY, "the offset of each value is dropped: stored as UTC")
    if kind in FLOAT_KINDS and not (facts.negative_zero and facts.nan):
        lost = [what for what, held in (("-0.0 becomes 0.0", facts.negative_zero),
                                        ("NaN and infinities are refused", facts.nan)) if not held]
        return made(Verdict.CONVERTED, f"{native or kind.value}; {', '.join(lost)} (values checked per row)")
    form = facts.forms.get(kind.value) if source_engine != target_engine else None
    if form:
        return made(Verdict.CONVERTED, form)
    if s_type != target.type and kind is Kind.DECIMAL:
        return made(Verdict.CONVERTED, f"{s_type} into {t_type}: every value fits")
    if _same_kind_wider(s_type, t_type):
        return made(Verdict.CONVERTED, f"{s_type} into the wider {t_type}")
    return made(Verdict.EXACT, "same type")


def _same_kind_wider(source: PortableType, target: PortableType) -> bool:
    return source != target and source.kind is target.kind


# -- values of the preview ------------------------------------------------------------------------

#: At most this many value issues per column are reported (the first rows name the problem).
ISSUES_PER_COLUMN = 3


def _number_issue(value: Any, ptype: PortableType, facts: EngineFacts) -> str | None:
    kind = ptype.kind
    if kind in INTEGER_KINDS and isinstance(value, int) and not isinstance(value, bool):
        low, high = INT_RANGES[kind]
        return None if low <= value <= high else f"is out of range for {kind.value}"
    if kind is Kind.DECIMAL and isinstance(value, (Decimal, int)) and not isinstance(value, bool):
        return decimal_fit_error(Decimal(value), ptype.precision, ptype.scale)
    if kind in FLOAT_KINDS and isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return None if facts.nan else "cannot be stored: the target holds no NaN or infinity"
        if value == 0.0 and math.copysign(1.0, value) < 0 and not facts.negative_zero:
            return "becomes 0.0: the target has no negative zero"
        if kind is Kind.FLOAT32:
            if abs(value) > FLOAT32_MAX:
                return "is out of range for float32"
            if as_float32(value) != value:
                return f"is rounded to {as_float32(value)!r} in float32"
    return None


def _text_issue(value: Any, ptype: PortableType, charset: str | None) -> str | None:
    if not isinstance(value, str):
        return None
    if ptype.length is not None and ptype.kind is not Kind.TEXT and len(value) > ptype.length:
        return f"has {len(value)} characters, more than {ptype}"
    if charset and charset.lower() in ("utf8mb3", "utf8") and any(ord(c) > 0xFFFF for c in value):
        return f"holds a 4-byte character, which a {charset} column cannot store"
    return None


def value_issue(value: Any, ptype: PortableType, facts: EngineFacts,
                charset: str | None = None) -> str | None:
    """Why the target column cannot hold ``value`` as it is; None when it can."""
    if value is None:
        return None
    if ptype.kind in TEXT_KINDS or ptype.kind is Kind.JSON:
        return _text_issue(value, ptype, charset)
    if ptype.kind is Kind.BINARY and isinstance(value, (bytes, bytearray)) and ptype.length is not None \
            and len(value) > ptype.length:
        return f"has {len(value)} bytes, more than {ptype}"
    return _number_issue(value, ptype, facts)


def check_values(columns: Sequence[tuple[str, PortableType, str | None]], rows: Sequence[Sequence[Any]],
                 target_engine: str) -> list[ValueIssue]:
    """The values of ``rows`` the target cannot hold; ``columns`` gives, per value position, the
    query's column name, the target column's (effective) type and its character set when known."""
    facts = ENGINES.get(target_engine, _DEFAULT_ENGINE)
    issues: list[ValueIssue] = []
    for position, (name, ptype, charset) in enumerate(columns):
        found = 0
        for number, row in enumerate(rows, start=1):
            problem = value_issue(row[position], ptype, facts, charset)
            if problem:
                issues.append(ValueIssue(name, number, shown_value(row[position]), problem))
                found += 1
                if found >= ISSUES_PER_COLUMN:
                    break
    return issues


# -- consent ----------------------------------------------------------------------------------------

ACCEPT_ALL = "all"


def parse_accepted(text: str | None) -> tuple[str, ...]:
    """``--accept-lossy a,b`` (or ``all``) as a tuple of names; empty for none."""
    if not text:
        return ()
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    if not names:
        raise UsageError("--accept-lossy needs column names separated by commas, or 'all'")
    return names


def _accepted(column: ColumnVerdict, accepted: Collection[str]) -> bool:
    folded = {a.casefold() for a in accepted}
    return ACCEPT_ALL in folded or column.source.casefold() in folded or column.target.casefold() in folded


def consent_error(report: FidelityReport, accepted: Collection[str] | None) -> str | None:
    """Why the run must stop before anything is created; None when it may go on.

    A refused column always stops it; lossy columns do unless each is in ``accepted`` (or it holds
    ``all``). ``accepted`` None checks refusals only.
    """
    refused = report.of(Verdict.REFUSED)
    if refused:
        first = refused[0]
        return f"column {first.source!r} is refused: {first.reason}"
    if accepted is None:
        return None
    pending = [c for c in report.of(Verdict.LOSSY) if not _accepted(c, accepted)]
    if not pending:
        return None
    names = ",".join(c.source for c in pending)
    detail = "; ".join(f"{c.source}: {c.reason}" for c in pending[:3])
    return (f"lossy column(s) {names} ({detail}); nothing was created. Accept with --accept-lossy {names} "
            "(or all), or change the mapping")


# -- a run's report -------------------------------------------------------------------------------


def column_report(source_columns: Sequence[Column], target_columns: Sequence[Column], dialect: Dialect,
                  source_engine: str, existing: bool,
                  charsets: Mapping[str, str] | None = None) -> FidelityReport:
    """The verdict of each kept source column going into its target column.

    ``existing`` says the target columns are an existing table's (their ``source_type`` is then
    the table's own type); else they are the new table's, typed by ``dialect.native_type``.
    ``charsets`` maps a target column name to its character set where the engine has them.
    """
    verdicts = []
    for source, target in zip(source_columns, target_columns, strict=True):
        refusal = None
        native = target.source_type if existing else ""
        if not native:
            try:
                native = dialect.native_type(target.type)
            except UsageError as exc:
                refusal = str(exc)
        verdict = classify(source, target, native, dialect.name, source_engine, refusal, existing)
        charset = (charsets or {}).get(target.name)
        if verdict.verdict in (Verdict.EXACT, Verdict.CONVERTED) and charset in ("utf8mb3", "utf8") and \
                source.type.kind in TEXT_KINDS | {Kind.JSON}:
            verdict = ColumnVerdict(verdict.source, verdict.target, verdict.source_type, verdict.target_type,
                                    Verdict.LOSSY, f"the column's character set {charset} holds no 4-byte "
                                    "characters (emoji and others are refused)")
        verdicts.append(verdict)
    return FidelityReport(verdicts)


def value_columns(report: FidelityReport, target_columns: Sequence[Column],
                  charsets: Mapping[str, str] | None = None) -> list[tuple[str, PortableType, str | None]]:
    """For :func:`check_values`: each column's name, effective target type and character set."""
    return [(v.source, _effective(t.type, v.target_type), (charsets or {}).get(t.name))
            for v, t in zip(report.columns, target_columns, strict=True)]


def target_charsets(dialect: Dialect, connection: Any, table: TableName) -> dict[str, str]:
    """The character set of each column of an existing MySQL/MariaDB table (other engines: none)."""
    if dialect.name != "mysql":
        return {}
    cursor = connection.cursor()
    try:
        cursor.execute("SELECT COLUMN_NAME, CHARACTER_SET_NAME FROM information_schema.COLUMNS "
                       "WHERE TABLE_SCHEMA = COALESCE(%s, DATABASE()) AND TABLE_NAME = %s "
                       "AND CHARACTER_SET_NAME IS NOT NULL", (table.schema, table.name))
        rows = cursor.fetchall()
    finally:
        cursor.close()
    return {_as_text(name): _as_text(charset) for name, charset in rows}


def _as_text(value: Any) -> str:
    return value.decode() if isinstance(value, (bytes, bytearray)) else str(value)


def run_report(request: MigrationRequest, source_columns: Sequence[Column], target_conn: Any,
               columns: Sequence[Column], target_exists: bool) -> FidelityReport:
    """The report of a run's columns: the query's ``source_columns`` into the run's ``columns`` (the
    mapped new table's, or the existing table's that receive them)."""
    dialect = request.target.dialect
    positions = kept_positions(source_columns, request.column_map)
    kept = list(source_columns) if positions is None else [source_columns[i] for i in positions]
    existing = target_exists and request.mode not in (LoadMode.REPLACE, LoadMode.CREATE)
    charsets = target_charsets(dialect, target_conn, request.table) if existing else {}
    return column_report(kept, columns, dialect, request.source.dialect.name, existing, charsets)
