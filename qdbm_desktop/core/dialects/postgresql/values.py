"""PostgreSQL's own text forms and the portable ones, both ways: arrays as JSON arrays, ``money``
as a decimal, ``time '24:00:00'`` kept (see docs/type-mapping.md)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import time, timedelta
from decimal import Decimal
from typing import Any

from qdbm_desktop.core.types import END_OF_DAY

#: Element types whose array elements are JSON numbers or booleans (others are JSON strings).
_NUMBER_ELEMENTS = frozenset({21, 23, 20, 1700, 700, 701})
_BOOL_ELEMENT = 16
_BOX = 603
_JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")


def _delimiter(element_oid: int) -> str:
    return ";" if element_oid == _BOX else ","


def _tokens(delimiter: str) -> re.Pattern[str]:
    d = re.escape(delimiter)
    return re.compile(r'([{}])|"((?:[^"\\]|\\.)*)"|(' + d + r')|([^{}"' + d + r']+)')


_TOKENS = {",": _tokens(","), ";": _tokens(";")}
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_BRACES = {"{": "[", "}": "]"}
_TO_JSON_BRACKETS = str.maketrans("{}", "[]")
#: An array of numbers needing no change but its brackets and NULLs (no NaN, no infinity, no quotes).
_PLAIN_NUMBERS = re.compile(r"[{},0-9.eE+-]*")
_NEEDS_JSON_ESCAPE = re.compile(r'[\x00-\x1f"\\\x7f\ud800-\udfff]').search


def array_to_json(text: str, element_oid: int) -> str:
    """A PostgreSQL array literal (``{1,NULL,"a b"}``, nested for more dimensions) as a JSON array.

    Numbers stay numbers with their exact digits (NaN and infinities become strings), booleans
    become ``true``/``false``, every other element is a JSON string of its text form. Explicit
    bounds (``[0:1]={...}``) are dropped: JSON arrays start at the first element.
    """
    if text.startswith("["):
        text = text[text.index("=") + 1:]
    elif not text.startswith("{"):  # int2vector, oidvector: elements between spaces
        return json.dumps(text.split())
    numbers, booleans = element_oid in _NUMBER_ELEMENTS, element_oid == _BOOL_ELEMENT
    if numbers and _PLAIN_NUMBERS.fullmatch(text.replace("NULL", "")):
        return text.translate(_TO_JSON_BRACKETS).replace("NULL", "null")  # all in C: the common case
    out: list[str] = []
    for brace, quoted, comma, bare in _TOKENS[_delimiter(element_oid)].findall(text):
        if brace:
            out.append(_BRACES[brace])
        elif comma:
            out.append(",")
        elif bare:
            token = bare.strip()
            if token:
                out.append(_unquoted(token.replace("\\", "") if "\\" in token else token, numbers, booleans))
        else:
            out.append(_json_string(_ESCAPE.sub(r"\1", quoted) if "\\" in quoted else quoted))
    return "".join(out)


def _json_string(value: str) -> str:
    if _NEEDS_JSON_ESCAPE(value):
        return json.dumps(value, ensure_ascii=False)
    return '"' + value + '"'


def _unquoted(token: str, numbers: bool, booleans: bool) -> str:
    if token.upper() == "NULL":
        return "null"
    if numbers and _JSON_NUMBER.fullmatch(token):
        return token
    if booleans and token in ("t", "f", "true", "false"):
        return "true" if token[0] == "t" else "false"
    return _json_string(token)


class _Number(str):
    """A JSON number's own digits, written unquoted."""


def json_to_array(text: str, element_oid: int) -> str:
    """A JSON array (what :func:`array_to_json` gives, or any JSON array) as a PostgreSQL array literal:
    numbers and booleans as they are, strings quoted, ``null`` as NULL, nested arrays nested."""
    try:
        value = json.loads(text, parse_float=_Number, parse_int=_Number, parse_constant=_Number)
    except ValueError:
        raise ValueError(f"{text[:40]!r} is neither a PostgreSQL array nor a JSON array") from None
    if not isinstance(value, list):
        raise ValueError(f"{text[:40]!r} is not a JSON array")
    delimiter = _delimiter(element_oid)

    def literal(item: Any) -> str:
        if item is None:
            return "NULL"
        if isinstance(item, list):
            return "{" + delimiter.join(map(literal, item)) + "}"
        if item is True or item is False:
            return "true" if item else "false"
        if isinstance(item, _Number):
            return str(item)
        text = item if isinstance(item, str) else json.dumps(item, ensure_ascii=False)
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

    return literal(value)


class ArrayJson(str):
    """An array read from PostgreSQL: the JSON array every other engine sees, with the literal it was
    read from (``literal``) so that a PostgreSQL target takes that as it is."""

    literal: str


def array_writer(element_oid: int) -> Callable[[Any], Any]:
    """For a PostgreSQL array column: JSON arrays become array literals; an array literal (text
    from a text column, or the one an array read from PostgreSQL carries) goes as it is, for the
    server to parse."""
    def convert(value: Any) -> Any:
        if value.__class__ is ArrayJson:
            return value.literal
        if isinstance(value, str) and value.lstrip().startswith("["):
            return json_to_array(value, element_oid)
        return value

    return convert


def money_value(text: str) -> Decimal:
    """``money`` as the read session prints it (``lc_monetary`` C: ``-$1,234.56``) as a decimal."""
    negative = text.startswith("-") or text.startswith("(")
    digits = text.strip("-()$ ").replace(",", "")
    value = Decimal(digits)
    return -value if negative else value


def time_value(text: str) -> time | timedelta:
    """A ``time`` value; ``24:00:00`` (which ``time`` cannot hold) as :data:`END_OF_DAY`."""
    if text.startswith("24:"):
        return END_OF_DAY
    return time.fromisoformat(text)


def text_loaders() -> dict[str, type]:
    """psycopg text loaders: ``money`` as a decimal, ``time`` with ``24:00:00`` (by their names)."""
    from psycopg.adapt import Loader

    class MoneyLoader(Loader):
        def load(self, data: Any) -> Decimal:
            return money_value(bytes(data).decode())

    class TimeLoader(Loader):
        def load(self, data: Any) -> time | timedelta:
            return time_value(bytes(data).decode())

    return {"money": MoneyLoader, "time": TimeLoader}


def array_loader(element_oid: int) -> type:
    """A psycopg text loader reading one array column as a JSON array (see :func:`array_to_json`)."""
    from psycopg.adapt import Loader

    class ArrayJsonLoader(Loader):
        def __init__(self, oid: int, context: Any = None) -> None:
            super().__init__(oid, context)
            self._encoding = self.connection.info.encoding if self.connection else "utf-8"

        def load(self, data: Any) -> str:
            literal = bytes(data).decode(self._encoding)
            value = ArrayJson(array_to_json(literal, element_oid))
            value.literal = literal
            return value

    return ArrayJsonLoader
