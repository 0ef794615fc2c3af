"""Errors a user can cause or meet, each carrying a one-line message safe to show."""

from __future__ import annotations

from collections.abc import Iterable

from qdbm_desktop.core.redaction import MASK as MASK
from qdbm_desktop.core.redaction import mask_credentials, mask_known


class QdbmError(Exception):
    """An expected failure: the message is one line, names what went wrong, and holds no secret."""

    exit_code = 1


class UsageError(QdbmError):
    """The user asked for something malformed (bad value, unknown name)."""

    exit_code = 2


class ConfigFileError(QdbmError):
    """A configuration file cannot be read or written."""


class ReadOnlyConfigError(ConfigFileError):
    """The file was written by a newer version and is open read-only."""


class SecretUnavailable(QdbmError):
    """A stored secret cannot be decrypted with the keys at hand."""


class ConnectFailed(QdbmError):
    """A database connection could not be opened."""


class DriverMissing(QdbmError):
    """The Python driver or a system library a dialect needs is not installed."""


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with each secret masked in every spelling, and every credential a URL or
    connection string in it holds masked too (see ``redaction``)."""
    return mask_credentials(mask_known(text, secrets))


def one_line(text: str) -> str:
    """Fold a multi-line driver message into one line."""
    parts = [part.strip() for part in str(text).splitlines() if part.strip()]
    return "; ".join(parts) if parts else str(text).strip()
