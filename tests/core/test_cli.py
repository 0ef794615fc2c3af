"""The `qdbm` command line contract: outputs, exit codes, and secrets kept out of every output."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from qdbm_desktop import __version__
from qdbm_desktop.cli import main

PASSWORD = "s3cr3t-PW!"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "home"
    monkeypatch.setenv("QDBM_HOME", str(folder))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    return folder


def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str,
        stdin: str = "") -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def everything_written(home: Path) -> bytes:
    return b"".join(p.read_bytes() for p in home.rglob("*") if p.is_file())


def test_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.strip() == f"qdbm {__version__}"


def test_first_command_lists_the_two_demo_connections(home: Path, capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = run(capsys, monkeypatch, "connections", "list", "--json")
    assert code == 0
    assert [c["name"] for c in json.loads(out)] == ["Demo shop (SQLite)", "Local warehouse (SQLite)"]
    code, out, _ = run(capsys, monkeypatch, "connections", "test", "Demo shop (SQLite)")
    assert (code, out.split(" (")[0]) == (0, out.split(" (")[0]) and out.startswith("ok: SQLite 3.")


def test_password_from_stdin_is_masked_and_never_written_or_printed(
        home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    outputs = []
    code, out, err = run(capsys, monkeypatch, "connections", "add", "wh", "--type", "postgresql", "--host",
                         "db.example", "--user", "etl", "--database", "dwh", "--password-stdin",
                         stdin=PASSWORD + "\n")
    assert code == 0, err
    outputs += [out, err]
    code, out, err = run(capsys, monkeypatch, "connections", "list", "--json")
    outputs += [out, err]
    entry = next(c for c in json.loads(out) if c["name"] == "wh")
    assert (entry["password"], entry["secrets"], entry["port"]) == ("********", "stored", 5432)
    code, out, err = run(capsys, monkeypatch, "connections", "list")
    outputs += [out, err]
    assert "********" in next(line for line in out.splitlines() if line.startswith("wh "))
    assert PASSWORD not in "".join(outputs)
    assert PASSWORD.encode() not in everything_written(home)


def test_password_in_a_url_is_encrypted_too(home: Path, capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = run(capsys, monkeypatch, "connections", "add", "my", "--url",
                         "mysql://app:s3cr3t-PW%21@127.0.0.1:3306/shop?ssl_disabled=true")
    assert code == 0, err
    assert PASSWORD not in out + err
    assert PASSWORD.encode() not in everything_written(home)
    code, out, _ = run(capsys, monkeypatch, "connections", "list", "--json")
    entry = next(c for c in json.loads(out) if c["name"] == "my")
    assert (entry["type"], entry["user"], entry["database"], entry["options"]) == (
        "mysql", "app", "shop", {"ssl_disabled": "true"})


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["connections", "add", "x"], "--type"),
        (["connections", "add", "x", "--type", "nosuchdb"], "invalid choice"),
        (["connections", "add", "x", "--type", "postgresql", "--port", "abc"], "not a whole number from 1 to 65,535"),
        (["connections", "add", "x", "--type", "postgresql", "--port", "70000"], "not a whole number from 1 to 65,535"),
        (["connections", "add", "x", "--type", "sqlite"], "--path"),
        (["connections", "add", "x", "--url", "ftp://h/db"], "unknown URL scheme"),
        (["connections", "add", "x", "--type", "postgresql", "--option", "novalue"], "KEY=VALUE"),
        (["settings", "set", "batch_size", "0"], "batch_size must be between"),
        (["settings", "set", "batch_size", "many"], "whole number"),
        (["settings", "set", "colour", "red"], "unknown setting"),
        (["settings", "set", "default_mode", "merge"], "default_mode must be one of"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_usage_gives_one_line_and_exit_code_2(home: Path, capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch, args: list[str],
                                                  expected: str) -> None:
    before = everything_written(home) if home.exists() else b""
    try:
        code, out, err = run(capsys, monkeypatch, *args)
    except SystemExit as stop:  # argparse's own errors
        code, (_, err) = int(stop.code or 0), capsys.readouterr()
    assert code == 2
    lines = [line for line in err.splitlines() if "error" in line]
    assert len(lines) == 1 and expected in lines[0], err
    assert "Traceback" not in err
    if before:
        assert everything_written(home) == before


def test_failed_operations_exit_1_with_one_line(home: Path, capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    code, _, err = run(capsys, monkeypatch, "connections", "remove", "nope")
    assert (code, err.strip().splitlines()[-1]) == (1, "qdbm: error: no saved connection named 'nope'")
    code, _, err = run(capsys, monkeypatch, "connections", "add", "demo shop (sqlite)", "--type", "sqlite",
                       "--path", "x.db")
    assert code == 1 and "already exists" in err
    code, _, err = run(capsys, monkeypatch, "connections", "add", "gone", "--type", "sqlite",
                       "--path", str(home / "missing.db"), "--create")
    assert code == 0, err
    (home / "missing.db").unlink()
    code, _, err = run(capsys, monkeypatch, "connections", "test", "gone")
    assert code == 1 and "database file not found" in err
    assert not (home / "missing.db").exists()


def test_settings_round_trip(home: Path, capsys: pytest.CaptureFixture[str],
                             monkeypatch: pytest.MonkeyPatch) -> None:
    assert run(capsys, monkeypatch, "settings", "get", "batch_size")[1].strip() == "50000"
    assert run(capsys, monkeypatch, "settings", "set", "batch_size", "25_000")[0] == 0
    assert run(capsys, monkeypatch, "settings", "get", "batch_size")[1].strip() == "25000"
    assert json.loads((home / "settings.json").read_text())["batch_size"] == 25000


def test_corrupt_connections_file_is_set_aside_and_reported(home: Path, capsys: pytest.CaptureFixture[str],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    run(capsys, monkeypatch, "connections", "list")
    (home / "connections.json").write_text('{"version": 1, "connections": [', encoding="utf-8")
    code, out, err = run(capsys, monkeypatch, "connections", "list")
    assert code == 0
    kept = list(home.glob("connections.json.corrupt-*"))
    assert len(kept) == 1 and kept[0].read_text() == '{"version": 1, "connections": ['
    assert "connections.json could not be read" in err and kept[0].name in err


def test_set_password_replaces_an_unreadable_password(home: Path, capsys: pytest.CaptureFixture[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    run(capsys, monkeypatch, "connections", "add", "pg", "--type", "postgresql", "--password-stdin",
        stdin="first\n")
    (home / "secret.key").unlink()  # the key is lost
    code, out, err = run(capsys, monkeypatch, "connections", "list")
    assert "re-enter password" in next(line for line in out.splitlines() if line.startswith("pg "))
    code, out, err = run(capsys, monkeypatch, "connections", "test", "pg")
    assert code == 1 and "cannot be decrypted, please re-enter it" in err
    code, out, err = run(capsys, monkeypatch, "connections", "set-password", "pg", stdin="second\n")
    assert code == 0, err
    code, out, err = run(capsys, monkeypatch, "connections", "list")
    assert "********" in next(line for line in out.splitlines() if line.startswith("pg "))


def test_no_keyring_warns_on_stderr_and_keeps_a_private_key_file(tmp_path: Path) -> None:
    env = {**os.environ, "QDBM_HOME": str(tmp_path), "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    result = subprocess.run([sys.executable, "-m", "qdbm_desktop.cli", "connections", "add", "pg", "--type",
                             "postgresql", "--password-stdin"], input=PASSWORD + "\n", env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "no usable OS keyring" in result.stderr and str(tmp_path / "secret.key") in result.stderr
    if os.name == "posix":
        assert (tmp_path / "secret.key").stat().st_mode & 0o777 == 0o600
    assert PASSWORD not in result.stdout + result.stderr


def test_import_legacy_reports_what_it_did(home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.core.test_legacy_import import make_legacy_folder

    legacy = make_legacy_folder(tmp_path / "config")
    code, out, err = run(capsys, monkeypatch, "import-legacy", str(legacy))
    assert code == 0, err
    assert "imported: connection postgresql/analytics as 'analytics'" in out
    assert "skipped:" in out and out.strip().splitlines()[-1].endswith("skipped")
    code, _, err = run(capsys, monkeypatch, "import-legacy", str(tmp_path / "nowhere"))
    assert code == 1 and "is not a folder" in err
