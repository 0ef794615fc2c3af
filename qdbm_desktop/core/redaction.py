"""Secrets out of every text a run writes or prints: known values in each spelling, and the
places a URL or connection string holds one even when its value is not known.

Two layers, both applied by ``errors.redact``:

* a known secret (a password, a DSN, a secret option) is masked in every form it can take in a
  message: as given, percent-encoded (``%2F`` or ``%2f``, ``+`` for spaces),
  decoded, JSON- or repr-escaped, and quoted the way SQL, libpq and ODBC quote values;
* wherever text holds a connection string, the credential in it is masked by its position:
  a URL's ``user:password@``, ``password=`` / ``PWD=`` / ``sslpassword=`` (any key naming a
  password, secret or token; quoted, braced or bare value; in URL queries, libpq key=value
  DSNs, ODBC and JDBC strings) and Oracle's ``user/password@host``.

The second layer is what keeps a message safe when a driver echoes a connection string QDBM
never saw whole (a DSN typed by the user, a URL that failed to parse).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus, unquote, unquote_plus

MASK = "********"

#: An option or field whose value is a credential: password, passwd, pwd, sslpassword, passfile,
#: passphrase, client_secret, api_token ...
SECRET_KEY = re.compile(r"pass|pwd|secret|token", re.IGNORECASE)

_MASK_RE = re.escape(MASK)

# A URL's userinfo password. The password runs to the last "@" of the token, as urlsplit reads
# a raw "@" in a password; a bare port ("host:5432/db") is not a password, and one masked already
# is left alone (an "@" in the query after it is no part of it).
_URL_PASSWORD = re.compile(
    r"(?P<head>\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/?#'\"]*:)"
    r"(?!\d+(?:[/?#;,\s'\"]|$))(?!" + _MASK_RE + r"@)"
    r"(?P<secret>[^\s'\"]*)(?=@)"
)

# key=value with a key naming a credential; the value quoted ('..' with \' or '' escapes, ".."),
# braced ({..} with }} escapes, ODBC), or bare up to a separator of the URL query, ODBC and
# libpq forms. An already masked value is left as it is.
_KEY_VALUE = re.compile(
    r"(?P<head>(?<![\w.\-])[\w.\-]*(?:pass|pwd|secret|token)[\w.\-]*\s*=\s*)"
    r"(?P<secret>" + _MASK_RE + r"(?=$|[\s;&'\")}\],])"
    r"|'(?:[^'\\]|\\.|'')*'?"
    r"|\"(?:[^\"\\]|\\.)*\"?"
    r"|\{(?:[^}]|\}\})*\}?"
    r"|[^\s;&]*?(?=['\"](?:[\s;&:,)\]]|$)|[\s;&]|$))",
    re.IGNORECASE,
)

# Oracle's user/password@connect-string (EZConnect, sqlplus, JDBC thin).
_ORACLE = re.compile(
    r"(?P<head>(?<![\w/.\-@$#])(?:[A-Za-z_][\w$#]*|\"[^\"/@\s]+\")/)"
    r"(?P<secret>\"[^\"]*\"|[^\s@/'\"]+)(?=@)"
)

_PATTERNS = (_URL_PASSWORD, _KEY_VALUE, _ORACLE)


def is_secret_key(key: str) -> bool:
    """Whether an option named ``key`` holds a credential (its value is encrypted and masked)."""
    return bool(SECRET_KEY.search(key))


def _unquoted(value: str) -> str:
    """The value a quoted or braced secret in a connection string stands for."""
    if len(value) >= 2 and value[0] == "'" and value[-1] == "'":
        return re.sub(r"\\(.)", r"\1", value[1:-1]).replace("''", "'")
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    if len(value) >= 2 and value[0] == "{" and value[-1] == "}":
        return value[1:-1].replace("}}", "}")
    return value


def secrets_in(text: str | None) -> list[str]:
    """The credentials a connection string holds (its passwords, secret options), as values."""
    if not text:
        return []
    found: list[str] = []
    for pattern in _PATTERNS:
        for match in pattern.finditer(text):
            raw = match.group("secret")
            if raw and raw != MASK:
                found.extend(v for v in {raw, _unquoted(raw), unquote(raw), unquote_plus(raw)} if v)
    return found


def secret_forms(secret: str) -> set[str]:
    """``secret`` and every spelling of it a message, URL, JSON text or connection string can hold."""
    forms = {secret, unquote(secret), unquote_plus(secret)}
    for encoded in (quote(secret, safe=""), quote(secret), quote_plus(secret, safe=""), quote_plus(secret)):
        forms.add(encoded)
        forms.add(re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), encoded))
    forms.add(json.dumps(secret)[1:-1])
    forms.add(json.dumps(secret, ensure_ascii=False)[1:-1])
    forms.add(repr(secret)[1:-1])
    forms.add(secret.replace("'", "''"))
    forms.add(secret.replace("\\", "\\\\").replace("'", "\\'"))
    forms.add(secret.replace("}", "}}"))
    return {form for form in forms if form}


def mask_known(text: str, secrets: Iterable[str | None]) -> str:
    """Replace every spelling of each non-empty secret in ``text`` with the mask."""
    forms: set[str] = set()
    for secret in secrets:
        if secret:
            forms |= secret_forms(secret)
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, MASK)
    return text


def mask_credentials(text: str) -> str:
    """Mask the credential of every URL, DSN or connection string in ``text`` by its position."""
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group("head") + MASK, text)
    return text


def mask_url(url: str, secrets: Iterable[str | None] = ()) -> str:
    """A connection URL fit to show: its password and secret options masked, the rest as given."""
    scheme, sep, rest = url.partition("://")
    if sep:
        end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
        netloc, tail = rest[:end], rest[end:]
        if "@" in netloc:
            userinfo, host = netloc.rsplit("@", 1)
            if ":" in userinfo:
                netloc = f"{userinfo.split(':', 1)[0]}:{MASK}@{host}"
        path, qmark, query = tail.partition("?")
        if qmark:
            query, hash_, fragment = query.partition("#")
            items = []
            for item in query.split("&"):
                key, eq, _value = item.partition("=")
                items.append(f"{key}={MASK}" if eq and is_secret_key(unquote_plus(key)) else item)
            tail = f"{path}?{'&'.join(items)}{hash_}{fragment}"
        url = f"{scheme}://{netloc}{tail}"
    return mask_credentials(mask_known(url, secrets))


class RedactingFormatter(logging.Formatter):
    """A log formatter whose whole output, traceback included, has its credentials masked."""

    def format(self, record: logging.LogRecord) -> str:
        return mask_credentials(super().format(record))
