"""The secret box: Fernet encryption of saved passwords, its key kept in the OS keyring.

No key ships with the app: one is generated on first use. Where no keyring backend works
(a headless Linux box), the key goes to a file readable only by the user and a warning says
so. A key that is missing or wrong never crashes anything: the affected secrets simply cannot
be decrypted, and the connections that hold them ask for the password again.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from qdbm_desktop.core.errors import SecretUnavailable
from qdbm_desktop.core.paths import private_folder

KEYRING_SERVICE = "QDBM Desktop"
KEYRING_USERNAME = "fernet-key"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class KeyStatus:
    """Where the key lives, for the status bar, `qdbm info` and the self-test."""

    backend: str
    file_fallback: bool
    warning: str | None = None


def _valid_key(candidate: str | None) -> bool:
    if not candidate:
        return False
    try:
        Fernet(candidate.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        return False
    return True


def _keyring_failure(exc: Exception) -> str:
    """A short reason why the keyring cannot be used."""
    if type(exc).__name__ == "NoKeyringError":
        return "no keyring backend is installed or running"
    text = str(exc).splitlines()[0][:120] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class SecretBox:
    """Encrypts and decrypts secrets; loads (or creates) its key on first use.

    ``keyring_backend`` is a ``keyring.backend.KeyringBackend``; by default the one the
    ``keyring`` package chooses for this system (``PYTHON_KEYRING_BACKEND`` can force one).
    """

    def __init__(self, key_file: Path, keyring_backend: Any | None = None) -> None:
        self._key_file = key_file
        self._backend = keyring_backend
        self._lock = threading.Lock()
        self._fernet: MultiFernet | None = None
        self._status: KeyStatus | None = None

    @property
    def status(self) -> KeyStatus:
        self._ensure_loaded()
        assert self._status is not None
        return self._status

    def encrypt(self, plaintext: str) -> str:
        """A Fernet token (text) for ``plaintext``, made with the current key."""
        fernet = self._ensure_loaded()
        return fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str, what: str = "secret") -> str:
        """The plaintext of ``token``; ``SecretUnavailable`` when no known key opens it."""
        fernet = self._ensure_loaded()
        try:
            return fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError, ValueError) as exc:
            raise SecretUnavailable(f"{what} cannot be decrypted, please re-enter it") from exc

    def can_decrypt(self, token: str) -> bool:
        try:
            self.decrypt(token)
        except SecretUnavailable:
            return False
        return True

    # -- key loading -----------------------------------------------------------------------

    def _ensure_loaded(self) -> MultiFernet:
        with self._lock:
            if self._fernet is None:
                keys, self._status = self._load_keys()
                self._fernet = MultiFernet([Fernet(key.encode("ascii")) for key in keys])
            return self._fernet

    def _keyring(self) -> Any:
        if self._backend is None:
            import keyring

            self._backend = keyring.get_keyring()
        return self._backend

    def _load_keys(self) -> tuple[list[str], KeyStatus]:
        """The keys to try (the first one encrypts) and where they came from."""
        file_key = self._read_key_file()
        try:
            backend = self._keyring()
            backend_name = f"{type(backend).__module__}.{type(backend).__qualname__}"
            stored = backend.get_password(KEYRING_SERVICE, KEYRING_USERNAME)
        except Exception as exc:  # noqa: BLE001 - every keyring failure means "use the file"
            return self._file_fallback(file_key, _keyring_failure(exc))
        if _valid_key(stored):
            assert stored is not None
            keys = [stored] + ([file_key] if file_key and file_key != stored else [])
            return keys, KeyStatus(backend=backend_name, file_fallback=False)
        # No key in the keyring yet: move the fallback file's key there, or make a new one.
        key = file_key or Fernet.generate_key().decode("ascii")
        try:
            backend.set_password(KEYRING_SERVICE, KEYRING_USERNAME, key)
            if backend.get_password(KEYRING_SERVICE, KEYRING_USERNAME) != key:
                raise RuntimeError("the keyring did not return the key it was given")
        except Exception as exc:  # noqa: BLE001 - a keyring that refuses the key means "use the file"
            return self._file_fallback(file_key, _keyring_failure(exc))
        if file_key:
            self._key_file.unlink(missing_ok=True)
            log.info("moved the encryption key from %s into the OS keyring", self._key_file)
        return [key], KeyStatus(backend=backend_name, file_fallback=False)

    def _file_fallback(self, file_key: str | None, reason: str) -> tuple[list[str], KeyStatus]:
        key = file_key or self._create_key_file()
        warning = (
            f"no usable OS keyring ({reason}); the key that encrypts saved "
            f"passwords is kept in {self._key_file}, readable only by you"
        )
        log.warning("%s", warning)
        return [key], KeyStatus(backend="key file", file_fallback=True, warning=warning)

    def _read_key_file(self) -> str | None:
        try:
            text = self._key_file.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            return None
        except (OSError, UnicodeError) as exc:
            log.warning("cannot read key file %s: %s", self._key_file, exc)
            return None
        if not _valid_key(text):
            log.warning("key file %s does not hold a valid key; it is ignored", self._key_file)
            return None
        return text

    def _create_key_file(self) -> str:
        try:
            return self._write_new_key_file()
        except OSError as exc:
            raise SecretUnavailable(f"no encryption key could be stored in {self._key_file} "
                                    f"({exc.strerror or exc}); saved passwords cannot be used") from exc

    def _write_new_key_file(self) -> str:
        key = Fernet.generate_key().decode("ascii")
        private_folder(self._key_file.parent)
        # O_EXCL: two processes starting at once must not each write their own key.
        try:
            fd = os.open(self._key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            existing = self._read_key_file()
            if existing:
                return existing
            # An unreadable key file is kept aside, never overwritten: it may still be restorable.
            kept = self._key_file.with_name(f"{self._key_file.name}.corrupt-{os.getpid()}")
            os.replace(self._key_file, kept)
            log.warning("key file %s was unreadable and is kept as %s", self._key_file, kept.name)
            fd = os.open(self._key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(key + "\n")
                handle.flush()
                os.fsync(handle.fileno())
        except OSError:
            # A full disk: an empty key file left behind would be taken for a damaged one next time.
            self._key_file.unlink(missing_ok=True)
            raise
        return key
