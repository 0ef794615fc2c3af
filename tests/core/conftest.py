"""Fixtures for the core tests: an in-memory keyring and an app context on a temporary home."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from keyring.backend import KeyringBackend
from keyring.compat import properties
from keyring.errors import PasswordDeleteError

from qdbm_desktop.core.context import AppContext
from qdbm_desktop.core.paths import AppPaths


class MemoryKeyring(KeyringBackend):
    """A keyring that lives in a dict; never chosen by ``keyring`` on its own."""

    @properties.classproperty
    def priority(cls) -> float:
        # Not viable, so keyring never picks it up for code that asks for the default backend.
        raise RuntimeError("test-only backend, passed explicitly")

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        try:
            del self.entries[(service, username)]
        except KeyError:
            raise PasswordDeleteError(f"no {username!r} in {service!r}") from None


@pytest.fixture
def new_memory_keyring() -> Callable[[], MemoryKeyring]:
    """Makes independent, empty in-memory keyrings (a second machine, a reset keyring)."""
    return MemoryKeyring


@pytest.fixture
def memory_keyring() -> MemoryKeyring:
    return MemoryKeyring()


@pytest.fixture
def home(tmp_path):
    return tmp_path / "home"


@pytest.fixture
def paths(home) -> AppPaths:
    return AppPaths(home)


@pytest.fixture
def context(paths, memory_keyring) -> AppContext:
    return AppContext.create(paths, keyring_backend=memory_keyring)
