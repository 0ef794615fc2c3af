"""Odd command-line input never ends in a traceback or an 'unexpected error': one clear line, printed
once, exit 1 or 2, and no secret echoed. Also: SQLite files made with `connections add --create`."""

from __future__ import annotations

import io
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from qdbm_desktop.cli import main
from qdbm_desktop.core.demo import DEMO_SOURCE_NAME, DEMO_TARGET_NAME
from tests.core.cli_runner import Cli

SECRET = "Pw-0dd-1nput"


def _prepare(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "home"
    monkeypatch.setenv("QDBM_HOME", str(folder))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    monkeypatch.chdir(tmp_path)  # relative paths given below land here
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    return folder


def _first_start() -> None:
    """The first start (demo connections, a welcome notice), and one saved job to aim at."""
    code = main(["jobs", "add", "j", "--source", DEMO_SOURCE_NAME, "--target", DEMO_TARGET_NAME,
                 "--query", "SELECT 1 AS x", "--table", "t"])
    assert code == 0


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Iterator[Path]:
    folder = _prepare(tmp_path, monkeypatch)
    _first_start()
    capsys.readouterr()
    yield folder


@pytest.fixture(scope="module")
def shared_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One app-data folder for the many odd-input cases (each changes nothing, or something harmless)."""
    folder = tmp_path_factory.mktemp("odd")
    with pytest.MonkeyPatch.context() as patch:
        _prepare(folder, patch)
        _first_start()
    yield folder


@pytest.fixture
def shared_home(shared_folder: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Path:
    folder = _prepare(shared_folder, monkeypatch)
    capsys.readouterr()
    return folder


def assert_one_clear_line(code: int, out: str, err: str, must_fail: bool) -> None:
    assert code in ((1, 2) if must_fail else (0, 1, 2)), (code, out, err)
    assert "Traceback" not in err and "unexpected error" not in err, err
    assert SECRET not in out + err
    if code != 0:
        lines = [line for line in err.splitlines() if line.strip()]
        assert len(lines) == 1, err
        assert lines[0].startswith("qdbm"), lines[0][:600]


#: Values that are wrong almost anywhere a number, a name, a time or a URL is asked for.
ODD = ["", " ", "\n", "0", "-1", "+5", " 5", "1_000", "1e309", "nan", "٣", "99999999999999999999999999999999",
       "9" * 5000, "é漢字🎉", "a\x00b", "x" * 5000, "'; DROP TABLE t; --", "--", "%s%s%n", "../../../../etc/passwd",
       "\udcff"]
#: URLs, each wrong, some carrying a password that must never be echoed.
BAD_URLS = ["postgresql://[::1/db", f"postgresql://u:{SECRET}@[::1/db", f"mysql://u:{SECRET}@h:99999/db",
            f"mysql://u:{SECRET}@h:abc/db", "sqlite://", "sqlite:///", "://", "ftp://h/db", "postgresql:/x",
            f"postgresql://u:{SECRET}@h:0x10/db", "sqlite:///a\x00b", f"mysql://u:{SECRET}@h/db\udcff"]
MIGRATE = ["migrate", "--source", DEMO_SOURCE_NAME, "--target", DEMO_TARGET_NAME, "--query", "SELECT 1 AS x",
           "--table", "t"]

#: (arguments with one "{}" slot, whether every odd value there must be refused)
TEMPLATES: list[tuple[list[str], bool]] = [
    (["connections", "add", "n", "--type", "postgresql", "--port", "{}"], True),
    (["connections", "add", "n", "--url", "{}"], True),
    (["connections", "add", "n", "--type", "{}"], True),
    (["connections", "add", "n", "--type", "postgresql", "--option", "{}"], False),
    (["connections", "test", "{}"], True),
    (["connections", "test", DEMO_SOURCE_NAME, "--timeout", "{}"], True),
    (["connections", "remove", "{}"], True),
    (["connections", "set-password", "{}"], True),
    ([*MIGRATE, "--batch-size", "{}"], True),
    ([*MIGRATE, "--mode", "{}"], True),
    ([*MIGRATE, "--map", "{}"], True),
    ([*MIGRATE, "--key", "{}"], True),
    ([*MIGRATE[:2], "{}", *MIGRATE[3:]], True),
    ([*MIGRATE[:4], "{}", *MIGRATE[5:]], True),
    ([*MIGRATE[:6], "{}", *MIGRATE[7:]], True),
    ([*MIGRATE[:8], "{}"], False),
    (["migrate", "--source", DEMO_SOURCE_NAME, "--target", DEMO_TARGET_NAME, "--query-file", "{}",
      "--table", "t"], True),
    (["jobs", "add", "k", *MIGRATE[1:], "--batch-size", "{}"], True),
    (["jobs", "add", "k", *MIGRATE[1:], "--incremental", "x", "--lookback", "{}"], True),
    (["jobs", "show", "{}"], True),
    (["jobs", "reset-mark", "j", "--to", "{}"], True),  # j is not incremental
    (["jobs", "remove", "{}"], True),
    (["jobs", "import", "{}"], True),
    (["run", "{}"], True),
    (["run", "--file", "{}"], True),
    (["schedule", "add", "j", "--every", "{}"], True),
    (["schedule", "add", "j", "--at", "{}"], True),
    (["schedule", "add", "j", "--at", "+{}"], True),
    (["schedule", "add", "j", "--daily", "{}"], True),
    (["schedule", "add", "j", "--weekly", "{}"], True),
    (["schedule", "add", "j", "--weekly", "{}@06:30"], True),
    (["schedule", "add", "j", "--cron", "{}"], True),
    (["schedule", "add", "j", "--daily", "06:30", "--tz", "{}"], True),
    (["schedule", "add", "j", "--daily", "06:30", "--grace", "{}"], True),
    (["schedule", "add", "{}", "--daily", "06:30"], True),
    (["schedule", "remove", "{}"], True),
    (["schedule", "enable", "{}"], True),
    (["history", "--limit", "{}"], True),
    (["history", "--log", "{}"], True),
    (["history", "--status", "{}"], True),
    (["settings", "set", "batch_size", "{}"], True),
    (["settings", "set", "history_retention_days", "{}"], False),
    (["settings", "set", "{}", "1"], True),
    (["settings", "get", "{}"], True),
    (["import-legacy", "{}"], True),
    (["--home", "{}", "info"], False),
    (["scheduler", "--check-every", "{}"], True),
    # Last: what these save or write would make the names above exist.
    (["connections", "add", "{}", "--type", "sqlite", "--path", "x.db"], True),
    (["connections", "add", "n", "--type", "sqlite", "--path", "{}"], True),
    (["jobs", "export", "{}"], True),
    (["jobs", "add", "{}", *MIGRATE[1:]], False),
]

#: Values that are fine in these places and so are not expected to fail there.
_PLAIN = {"é漢字🎉", "'; DROP TABLE t; --", "%s%s%n", "0", "-1", "+5", "1_000", "1e309", "nan", "٣",
          "99999999999999999999999999999999", "--"}
_FINE: dict[tuple[str, ...], set[str]] = {
    ("connections", "add", "{}"): _PLAIN,  # a connection's name
    ("--path", "{}"): {"../../../../etc/passwd"},  # a file that exists
    ("--key", "{}"): {"", " ", "\n"},  # no key given
    ("--lookback", "{}"): {""}, ("--tz", "{}"): {""}, ("--grace", "{}"): {""},  # the default
    ("--limit", "{}"): {"0"},  # every run
    ("settings", "set"): {"1_000"},  # digits grouped
    ("settings", "get"): {"--"},  # then no key: every setting
}


def _cases() -> Iterator[object]:
    for template, must_fail in TEMPLATES:
        values = BAD_URLS if template[-2:] == ["--url", "{}"] else ODD
        for value in values:
            args = [part.replace("{}", value) for part in template]
            fine = next((allowed for key, allowed in _FINE.items()
                         if any(template[i:i + len(key)] == list(key) for i in range(len(template)))), set())
            yield pytest.param(args, must_fail and value not in fine,
                               id=f"{' '.join(template)[:60]}|{value[:12]!r}")


@pytest.mark.parametrize(("args", "must_fail"), list(_cases()))
def test_odd_input_gives_one_clear_line_and_never_a_traceback(
        shared_home: Path, cli: Cli, args: list[str], must_fail: bool) -> None:
    if args[:2] == ["connections", "set-password"]:
        sys.stdin = io.StringIO(SECRET + "\n")
    code, out, err = cli(*args)
    assert_one_clear_line(code, out, err, must_fail)


def test_the_issue_inputs_each_get_their_own_clear_message(home: Path, cli: Cli) -> None:
    cases = [
        (["connections", "add", "n", "--url", "postgresql://[::1/db"], 2, "Invalid IPv6 URL"),
        (["schedule", "add", "j", "--every", "99999999999d"], 2, "at most 3650d"),
        (["schedule", "add", "j", "--at", "+99999999999d"], 2, "at most 3650d"),
        (["history", "--limit", "9" * 30], 2, "not a whole number from 0 to"),
        (["--home", "/dev/null", "info"], 2, "is not a folder"),
        # A folder nothing can be written in is a read-only app-data folder: reading commands still work.
        (["--home", "/proc/1", "info"], 0, "the demo could not be set up"),
        (["--home", "/tmp/" + "a" * 5000, "info"], 2, "too long for a folder name"),
        (["schedule", "add", "j", "--weekly", "mon;rm@06:30"], 2, "'mon;rm' is not a day"),
        (["jobs", "add", "inc", *MIGRATE[1:], "--incremental", "x"], 0, ""),
        (["jobs", "reset-mark", "inc", "--to", " "], 2, "--to needs a value"),
        ([*MIGRATE, "--batch-size", " 5"], 2, "' 5' is not a whole number"),
    ]
    for args, expected_code, message in cases:
        code, out, err = cli(*args)
        assert code == expected_code, (args[:4], err)
        if expected_code:
            lines = err.strip().splitlines()
            assert len(lines) == 1 and message in lines[0], (args[:4], err)
    # Nothing of it was saved.
    _, out, _ = cli("schedule", "list", "--json")
    assert out.strip() == "[]"


@pytest.mark.parametrize("args", [
    ["connections", "remove", "nope"],
    ["connections", "test", "nope"],
    ["connections", "test", "sqlite:///no/such/file.db"],
    [*MIGRATE[:6], "SELECT * FROM no_such_table", *MIGRATE[7:]],
    [*MIGRATE[:2], "sqlite:///no/such/file.db", *MIGRATE[3:]],
    [*MIGRATE[:4], "sqlite:///no/such/file.db", *MIGRATE[5:]],
    [*MIGRATE, "--dry-run", "--map", "nope=int32"],
    ["run", "nope"],
    ["jobs", "show", "nope"],
    ["schedule", "remove", "nope"],
    ["history", "--log", "12345"],
])
def test_a_failure_prints_its_error_exactly_once(home: Path, cli: Cli,
                                                 args: list[str]) -> None:
    code, out, err = cli(*args)
    assert code in (1, 2), err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("qdbm: error: "), err
    message = lines[0].removeprefix("qdbm: error: ")
    assert (out + err).count(message) == 1, out + err


def test_a_failed_run_says_once_what_failed_and_that_the_target_is_unchanged(
        home: Path, cli: Cli) -> None:
    code, out, err = cli(*MIGRATE[:6], "SELECT * FROM no_such_table", *MIGRATE[7:])
    assert code == 1
    assert err.count("no_such_table") == 1, err
    assert err.strip() == ("qdbm: error: read failed on 'Demo shop (SQLite)': no such table: no_such_table; "
                           "the target is unchanged")
    assert out.startswith("failed: 0 rows read")


def test_non_utf8_arguments_get_one_line_in_a_real_process(home: Path, tmp_path: Path) -> None:
    env = {**os.environ, "QDBM_HOME": str(home), "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    for args in ([b"connections", b"remove", b"\xff\xfe"], [b"jobs", b"show", b"caf\xe9"],
                 [b"connections", b"add", b"\xff", b"--type", b"sqlite", b"--path", b"x.db"],
                 [b"--home", b"\xff/\xfe", b"info"]):
        done = subprocess.run([sys.executable.encode(), b"-m", b"qdbm_desktop.cli", *args], env=env,
                              capture_output=True, cwd=tmp_path, timeout=60, check=False)
        err = done.stderr.decode("utf-8", "replace")
        assert_one_clear_line(done.returncode, done.stdout.decode("utf-8", "replace"), err,
                              must_fail=args[0] != b"--home")


def test_connections_add_create_makes_an_empty_sqlite_file_a_migration_can_load(
        home: Path, tmp_path: Path, cli: Cli) -> None:
    code, out, err = cli("connections", "add", "new", "--url", "sqlite:///new.db")
    assert code == 2
    assert err.strip() == (f"qdbm: error: the SQLite database file {tmp_path / 'new.db'} does not exist; "
                           "give --create to make an empty database there")
    assert not (tmp_path / "new.db").exists()
    _, out, _ = cli("connections", "list")
    assert "new" not in [line.split()[0] for line in out.splitlines()[1:]]

    code, out, err = cli("connections", "add", "new", "--url", "sqlite:///sub/new.db", "--create")
    assert code == 0, err
    assert f"created the empty database {tmp_path / 'sub' / 'new.db'}" in out
    code, out, err = cli(*MIGRATE[:4], "new", *MIGRATE[5:])
    assert code == 0, err
    with sqlite3.connect(tmp_path / "sub" / "new.db") as db:
        assert db.execute("SELECT x FROM t").fetchall() == [(1,)]

    # An existing file is used as it is, never emptied.
    code, out, err = cli("connections", "add", "again", "--path", str(tmp_path / "sub" / "new.db"),
                         "--type", "sqlite", "--create")
    assert code == 0 and "created" not in out, err
    with sqlite3.connect(tmp_path / "sub" / "new.db") as db:
        assert db.execute("SELECT x FROM t").fetchall() == [(1,)]


@pytest.mark.parametrize(("args", "message"), [
    (["--type", "postgresql", "--create"], "--create makes a new SQLite database file"),
    (["--type", "sqlite", "--path", "/proc/no/such/dir/x.db", "--create"], "cannot create the SQLite database"),
    (["--type", "sqlite", "--path", "/tmp", "--create"], "is not a file"),
])
def test_connections_add_create_refuses_clearly_and_saves_nothing(
        home: Path, cli: Cli, args: list[str], message: str) -> None:
    code, out, err = cli("connections", "add", "made", *args)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], err
    _, out, _ = cli("connections", "list")
    assert "made" not in out


def test_a_failed_save_removes_the_file_create_made(home: Path, tmp_path: Path,
                                                    cli: Cli) -> None:
    # A name the store refuses (a control character) after the file was made.
    code, out, err = cli("connections", "add", "bad\x01name", "--type", "sqlite", "--path", "made.db",
                         "--create")
    assert code in (1, 2) and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "made.db").exists()
