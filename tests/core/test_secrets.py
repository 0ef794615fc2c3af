"""The secret box: Fernet key in the OS keyring, a 0600 key file only when there is none."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from keyring.backends import fail

from qdbm_desktop.core.errors import SecretUnavailable
from qdbm_desktop.core.secrets import KEYRING_SERVICE, KEYRING_USERNAME, SecretBox
from tests.conftest import MemoryKeyring

SECRET = "s3cr3t-PW! Zoë ✓"


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    return tmp_path / "home" / "secret.key"


def no_keyring() -> fail.Keyring:
    return fail.Keyring()


# -- with a working keyring ---------------------------------------------------------------------

def test_encrypted_secret_decrypts_to_the_same_text(key_file: Path, memory_keyring: MemoryKeyring) -> None:
    box = SecretBox(key_file, memory_keyring)

    token = box.encrypt(SECRET)

    assert SECRET not in token
    assert box.decrypt(token) == SECRET
    assert box.can_decrypt(token)


def test_the_same_secret_gives_different_tokens(key_file: Path, memory_keyring: MemoryKeyring) -> None:
    box = SecretBox(key_file, memory_keyring)

    assert box.encrypt(SECRET) != box.encrypt(SECRET)


def test_key_is_stored_in_the_keyring_under_the_app_service_and_no_key_file_written(key_file: Path, memory_keyring: MemoryKeyring) -> None:
    box = SecretBox(key_file, memory_keyring)
    token = box.encrypt(SECRET)

    stored = memory_keyring.get_password(KEYRING_SERVICE, KEYRING_USERNAME)

    assert KEYRING_SERVICE == "QDBM Desktop"
    assert list(memory_keyring.entries) == [("QDBM Desktop", KEYRING_USERNAME)]
    assert stored is not None
    assert Fernet(stored.encode()).decrypt(token.encode()).decode() == SECRET
    assert not key_file.exists()
    assert box.status.file_fallback is False
    assert box.status.warning is None
    assert "MemoryKeyring" in box.status.backend


def test_second_box_on_the_same_keyring_decrypts_the_first_ones_tokens(key_file: Path, memory_keyring: MemoryKeyring) -> None:
    token = SecretBox(key_file, memory_keyring).encrypt(SECRET)

    assert SecretBox(key_file, memory_keyring).decrypt(token) == SECRET


def test_each_new_keyring_gets_its_own_generated_key(tmp_path: Path, new_memory_keyring: Callable[[], MemoryKeyring]) -> None:
    first, second = new_memory_keyring(), new_memory_keyring()
    SecretBox(tmp_path / "a.key", first).encrypt("x")
    SecretBox(tmp_path / "b.key", second).encrypt("x")

    entry = (KEYRING_SERVICE, KEYRING_USERNAME)
    assert first.entries[entry] != second.entries[entry]


def test_token_from_another_key_raises_secret_unavailable_asking_to_re_enter(key_file: Path, memory_keyring: MemoryKeyring) -> None:
    foreign = Fernet(Fernet.generate_key()).encrypt(SECRET.encode()).decode()
    box = SecretBox(key_file, memory_keyring)

    with pytest.raises(SecretUnavailable, match="cannot be decrypted, please re-enter it") as caught:
        box.decrypt(foreign, what="the password of connection 'Sales'")

    assert str(caught.value) == "the password of connection 'Sales' cannot be decrypted, please re-enter it"
    assert SECRET not in str(caught.value)
    assert not box.can_decrypt(foreign)


@pytest.mark.parametrize("token", ["", "not-a-token", "ü-non-ascii"])
def test_malformed_token_raises_secret_unavailable_not_a_crash(key_file: Path, memory_keyring: MemoryKeyring, token: str) -> None:
    box = SecretBox(key_file, memory_keyring)

    with pytest.raises(SecretUnavailable, match="please re-enter it"):
        box.decrypt(token)


def test_invalid_key_in_keyring_is_replaced_by_a_working_one(key_file: Path, memory_keyring: MemoryKeyring) -> None:
    memory_keyring.set_password(KEYRING_SERVICE, KEYRING_USERNAME, "not a fernet key")
    box = SecretBox(key_file, memory_keyring)

    token = box.encrypt(SECRET)

    assert box.decrypt(token) == SECRET
    assert memory_keyring.get_password(KEYRING_SERVICE, KEYRING_USERNAME) != "not a fernet key"


# -- without a keyring: the key file --------------------------------------------------------------

def test_without_keyring_the_key_goes_to_a_key_file(key_file: Path) -> None:
    box = SecretBox(key_file, no_keyring())

    token = box.encrypt(SECRET)

    assert box.decrypt(token) == SECRET
    key = key_file.read_text(encoding="ascii").strip()
    assert Fernet(key.encode()).decrypt(token.encode()).decode() == SECRET


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_fallback_key_file_is_readable_only_by_the_user(key_file: Path) -> None:
    SecretBox(key_file, no_keyring()).encrypt(SECRET)

    assert key_file.stat().st_mode & 0o777 == 0o600


def test_fallback_status_says_file_and_warning_names_the_key_file(key_file: Path, caplog: pytest.LogCaptureFixture) -> None:
    box = SecretBox(key_file, no_keyring())

    with caplog.at_level("WARNING", logger="qdbm_desktop.core.secrets"):
        status = box.status

    assert status.file_fallback is True
    assert status.backend == "key file"
    assert status.warning is not None
    assert str(key_file) in status.warning
    assert "no usable OS keyring" in status.warning
    assert any(str(key_file) in record.getMessage() for record in caplog.records)


def test_second_box_without_keyring_reads_the_same_key_file(key_file: Path) -> None:
    token = SecretBox(key_file, no_keyring()).encrypt(SECRET)
    key_before = key_file.read_bytes()

    second = SecretBox(key_file, no_keyring())

    assert second.decrypt(token) == SECRET
    assert key_file.read_bytes() == key_before


def test_key_file_from_earlier_fallback_moves_into_the_keyring_when_it_becomes_available(
        key_file: Path, memory_keyring: MemoryKeyring) -> None:
    token = SecretBox(key_file, no_keyring()).encrypt(SECRET)
    file_key = key_file.read_text(encoding="ascii").strip()

    box = SecretBox(key_file, memory_keyring)

    assert box.decrypt(token) == SECRET
    assert not key_file.exists()
    assert memory_keyring.get_password(KEYRING_SERVICE, KEYRING_USERNAME) == file_key
    assert box.status.file_fallback is False
    # and the key now lives only in the keyring: another box still opens the old token
    assert SecretBox(key_file, memory_keyring).decrypt(token) == SECRET


def test_tokens_made_during_a_keyring_outage_still_decrypt_when_the_keyring_returns(key_file: Path, memory_keyring: MemoryKeyring) -> None:
    before_outage = SecretBox(key_file, memory_keyring).encrypt("made with the keyring key")
    during_outage = SecretBox(key_file, no_keyring()).encrypt("made with the file key")

    after = SecretBox(key_file, memory_keyring)

    assert after.decrypt(before_outage) == "made with the keyring key"
    assert after.decrypt(during_outage) == "made with the file key"


def test_garbage_key_file_is_kept_aside_not_overwritten_when_falling_back(key_file: Path) -> None:
    key_file.parent.mkdir(parents=True)
    key_file.write_bytes(b"garbage, not a key\n")

    box = SecretBox(key_file, no_keyring())
    token = box.encrypt(SECRET)

    kept = [p for p in key_file.parent.iterdir() if p.name.startswith("secret.key.corrupt-")]
    assert len(kept) == 1
    assert kept[0].read_bytes() == b"garbage, not a key\n"
    new_key = key_file.read_text(encoding="ascii").strip()
    assert Fernet(new_key.encode()).decrypt(token.encode()).decode() == SECRET


def test_garbage_key_file_is_left_alone_when_the_keyring_works(key_file: Path, memory_keyring: MemoryKeyring) -> None:
    key_file.parent.mkdir(parents=True)
    key_file.write_bytes(b"garbage, not a key\n")

    box = SecretBox(key_file, memory_keyring)

    assert box.decrypt(box.encrypt(SECRET)) == SECRET
    assert key_file.read_bytes() == b"garbage, not a key\n"


# -- the environment variable, in a real process ------------------------------------------------

def test_fail_keyring_forced_by_environment_falls_back_to_key_file_in_a_fresh_process(tmp_path: Path) -> None:
    home = tmp_path / "qdbm home"
    env = {**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring", "QDBM_HOME": str(home)}
    script = textwrap.dedent(
        """
        import json
        from qdbm_desktop.core.context import AppContext
        from qdbm_desktop.core.paths import AppPaths

        context = AppContext.create(AppPaths.from_environment())
        box = context.secret_box
        token = box.encrypt("s3cr3t-PW!")
        status = box.status
        print(json.dumps({"roundtrip": box.decrypt(token) == "s3cr3t-PW!", "token": token,
                          "file_fallback": status.file_fallback, "backend": status.backend,
                          "warning": status.warning, "key_file": str(context.paths.key_file)}))
        """
    )

    runs = [subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                           timeout=60) for _ in range(2)]

    for run in runs:
        assert run.returncode == 0, run.stderr
    first, second = (json.loads(run.stdout) for run in runs)
    assert first["roundtrip"] is True
    assert first["file_fallback"] is True
    assert first["backend"] == "key file"
    assert first["key_file"] == str(home / "secret.key")
    assert str(home / "secret.key") in first["warning"]
    assert (home / "secret.key").is_file()
    if os.name == "posix":
        assert (home / "secret.key").stat().st_mode & 0o777 == 0o600
    # The second process reads the first one's key file: its token still opens.
    box = SecretBox(home / "secret.key", no_keyring())
    assert box.decrypt(first["token"]) == "s3cr3t-PW!"
    assert box.decrypt(second["token"]) == "s3cr3t-PW!"
    for run in runs:
        assert "s3cr3t-PW!" not in run.stderr


def test_command_line_without_keyring_warns_on_stderr_naming_the_key_file(tmp_path: Path) -> None:
    home = tmp_path / "qdbm home"
    env = {**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring", "QDBM_HOME": str(home)}
    env.pop("QDBM_DEBUG", None)

    def qdbm(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "qdbm_desktop.cli", *args], env=env,
                              capture_output=True, text=True, timeout=60)

    added = qdbm("connections", "add", "Sales", "--url", "postgresql://report:s3cr3t-PW!@db.example/sales")
    info = qdbm("info")

    assert added.returncode == 0, added.stderr
    assert "warning" in added.stderr and "no usable OS keyring" in added.stderr
    assert str(home / "secret.key") in added.stderr
    assert info.returncode == 0, info.stderr
    assert "keyring: key file (fallback: no OS keyring)" in info.stdout
    for run in (added, info):
        assert "s3cr3t-PW!" not in run.stdout + run.stderr
    # The password saved through the fallback key still decrypts.
    box = SecretBox(home / "secret.key", no_keyring())
    document = json.loads((home / "connections.json").read_text(encoding="utf-8"))
    (sales,) = [c for c in document["connections"] if c["name"] == "Sales"]
    assert box.decrypt(sales["secrets"]["password"]) == "s3cr3t-PW!"
