"""Hand-edited stored files, many ways wrong, under every command that reads them.

Each case is a store's file with bad entries added to good ones (or the whole file wrong). Every
command that reads it must end without a crash, say one line per bad entry, keep listing the good
entries, and leave each bad entry in the file (or in its set-aside copy) after it writes the file.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from qdbm_desktop.cli import main
from qdbm_desktop.core.connections import ConnectionProfile
from qdbm_desktop.core.context import AppContext
from qdbm_desktop.core.demo import DEMO_SOURCE_NAME, DEMO_TARGET_NAME
from qdbm_desktop.core.paths import AppPaths

GOOD_JOB = "good job"
REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Case:
    """One malformed file: its bytes, and how many bad entries (0 with ``set_aside``: the whole file)."""

    id: str
    file: str
    build: Callable[[dict[str, Any]], bytes]
    bad: int = 1
    set_aside: bool = False
    #: The raw bad entries, as they must still be found in the file after a command writes it.
    bad_entries: tuple[Any, ...] = ()


def _with_entries(key: str, *entries: Any) -> Callable[[dict[str, Any]], bytes]:
    def build(document: dict[str, Any]) -> bytes:
        changed = json.loads(json.dumps(document))
        changed[key] = [*changed[key], *entries]
        return json.dumps(changed, allow_nan=True).encode()
    return build


def _with_field(key: str, value: Any) -> Callable[[dict[str, Any]], bytes]:
    def build(document: dict[str, Any]) -> bytes:
        return json.dumps({**document, key: value}, allow_nan=True).encode()
    return build


def _text(text: bytes) -> Callable[[dict[str, Any]], bytes]:
    return lambda _document: text


def _bom(document: dict[str, Any]) -> bytes:
    return b"\xef\xbb\xbf" + json.dumps(document).encode()


def entries_case(id: str, file: str, key: str, *entries: Any, bad: int | None = None) -> Case:
    return Case(id, file, _with_entries(key, *entries), len(entries) if bad is None else bad,
                bad_entries=entries)


def whole_file_cases(file: str, key: str) -> list[Case]:
    stem = file.split(".")[0]
    return [
        Case(f"{stem}-{key}-is-text", file, _with_field(key, "abc"), set_aside=True),
        Case(f"{stem}-{key}-is-an-object", file, _with_field(key, {}), set_aside=True),
        Case(f"{stem}-{key}-is-null", file, _with_field(key, None), set_aside=True),
        Case(f"{stem}-top-level-list", file, _text(b'[1, "x", null]'), set_aside=True),
        Case(f"{stem}-empty-file", file, _text(b""), set_aside=True),
        Case(f"{stem}-not-json", file, _text(b'{"version": 1, "' + key.encode() + b'": ['), set_aside=True),
        Case(f"{stem}-not-utf8", file, _text(b'{"version": 1, "' + key.encode() + b'": ["\xff\xfe"]}'),
             set_aside=True),
        Case(f"{stem}-latin1", file, _text('{"version": 1, "x": "Müller"}'.encode("latin-1")), set_aside=True),
        Case(f"{stem}-version-text", file, _with_field("version", "1"), set_aside=True),
        Case(f"{stem}-nested-thousands-deep", file, _text(b"[" * 100_000 + b"]" * 100_000), set_aside=True),
        Case(f"{stem}-number-of-5000-digits", file, _text(b'{"version": 1, "n": ' + b"9" * 5000 + b"}"),
             set_aside=True),
        Case(f"{stem}-byte-order-mark", file, _bom, bad=0),
    ]


def _conn(**fields: Any) -> dict[str, Any]:
    return {"name": "hand edited", "type": "postgresql", "host": "db.example", **fields}


CONNECTION_CASES = [
    entries_case("connections-non-objects", "connections.json", "connections", 1, "x", None, [], True),
    entries_case("connections-name-is-a-number", "connections.json", "connections",
                 {"name": 12345, "type": "sqlite", "path": "/tmp/x.sqlite"}),
    entries_case("connections-name-missing", "connections.json", "connections",
                 {"type": "sqlite", "path": "/tmp/x.sqlite"}),
    entries_case("connections-nested-nulls", "connections.json", "connections", {"name": None, "type": None}),
    entries_case("connections-name-huge", "connections.json", "connections", _conn(name="n" * 10_000)),
    entries_case("connections-port-text", "connections.json", "connections", _conn(port="abc")),
    entries_case("connections-port-out-of-range", "connections.json", "connections",
                 _conn(name="a", port=70_000), _conn(name="b", port=-1), _conn(name="c", port=0),
                 _conn(name="d", port=10**30)),
    entries_case("connections-port-not-whole", "connections.json", "connections",
                 _conn(name="a", port=5432.0), _conn(name="b", port=float("nan")),
                 _conn(name="c", port=float("inf")), _conn(name="d", port=True)),
    entries_case("connections-unknown-type", "connections.json", "connections", _conn(type="db2")),
    entries_case("connections-type-missing", "connections.json", "connections", {"name": "no type"}),
    entries_case("connections-secrets-a-list", "connections.json", "connections", _conn(secrets=["a"])),
    entries_case("connections-secrets-wrong", "connections.json", "connections",
                 _conn(name="a", secrets={"password": 5}), _conn(name="b", secrets={"colour": "tok"}),
                 _conn(name="c", secrets={"password": None})),
    entries_case("connections-options-wrong", "connections.json", "connections",
                 _conn(name="a", options=["a"]), _conn(name="b", options={"sslmode": None}),
                 _conn(name="c", options="sslmode=require")),
    entries_case("connections-no-host", "connections.json", "connections", _conn(host=None)),
    entries_case("connections-sqlite-without-file", "connections.json", "connections",
                 {"name": "no file", "type": "sqlite"}),
    entries_case("connections-bad-timestamps", "connections.json", "connections",
                 _conn(name="a", last_used="yesterday"), _conn(name="b", created_at=20260101)),
    entries_case("connections-duplicate-name", "connections.json", "connections",
                 {"name": DEMO_SOURCE_NAME.upper(), "type": "sqlite", "path": "/tmp/x.sqlite"}),
    Case("connections-extra-field-is-fine", "connections.json",
         _with_entries("connections", _conn(name="extra", colour="red")), bad=0),
    *whole_file_cases("connections.json", "connections"),
]


def _schedule(id: str, trigger: dict[str, Any] | Any = None, **fields: Any) -> dict[str, Any]:
    trigger = {"kind": "interval", "timezone": "UTC", "every_seconds": 3600} if trigger is None else trigger
    return {"id": id, "job": GOOD_JOB, "trigger": trigger, "enabled": True, **fields}


def _interval(seconds: Any) -> dict[str, Any]:
    return {"kind": "interval", "timezone": "UTC", "every_seconds": seconds}


def _job(name: object, **fields: Any) -> dict[str, Any]:
    return {"name": name, "source": DEMO_SOURCE_NAME, "target": DEMO_TARGET_NAME, "query": "SELECT 1 AS a",
            "table": "t", "mode": "append", **fields}


SCHEDULE_CASES = [
    entries_case("schedules-interval-negative", "schedules.json", "schedules", _schedule("neg", _interval(-5))),
    entries_case("schedules-interval-zero", "schedules.json", "schedules", _schedule("zero", _interval(0))),
    entries_case("schedules-interval-wrong", "schedules.json", "schedules",
                 _schedule("a", _interval(59)), _schedule("b", _interval(10**30)), _schedule("c", _interval("60")),
                 _schedule("d", _interval(60.5)), _schedule("e", _interval(float("nan"))),
                 _schedule("f", _interval(None)), _schedule("g", _interval(float("-inf")))),
    entries_case("schedules-unknown-kind-and-zone", "schedules.json", "schedules",
                 _schedule("a", {"kind": "hourly", "timezone": "UTC"}),
                 _schedule("b", {**_interval(3600), "timezone": "Mars/Olympus"}),
                 _schedule("c", {**_interval(3600), "timezone": 5}),
                 _schedule("d", {**_interval(3600), "timezone": "../../etc/passwd"})),
    entries_case("schedules-bad-cron", "schedules.json", "schedules",
                 _schedule("a", {"kind": "cron", "timezone": "UTC", "cron": "61 * * * *"}),
                 _schedule("b", {"kind": "cron", "timezone": "UTC", "cron": "* * *"}),
                 _schedule("c", {"kind": "cron", "timezone": "UTC", "cron": 12}),
                 _schedule("d", {"kind": "cron", "timezone": "UTC", "cron": "0 6 * * 9"}),
                 _schedule("e", {"kind": "cron", "timezone": "UTC", "cron": "0 0 31 2 *"})),
    entries_case("schedules-bad-days-and-times", "schedules.json", "schedules",
                 _schedule("a", {"kind": "weekly", "timezone": "UTC", "time": "06:30", "days": ["mon", "xyz"]}),
                 _schedule("b", {"kind": "weekly", "timezone": "UTC", "time": "06:30", "days": "mon"}),
                 _schedule("c", {"kind": "weekly", "timezone": "UTC", "time": "06:30", "days": []}),
                 _schedule("d", {"kind": "daily", "timezone": "UTC", "time": "25:00"}),
                 _schedule("e", {"kind": "daily", "timezone": "UTC", "time": 630})),
    entries_case("schedules-bad-dates", "schedules.json", "schedules",
                 _schedule("a", {"kind": "once", "timezone": "UTC", "at": "not a date"}),
                 _schedule("b", {"kind": "once", "timezone": "UTC", "at": "2030-01-01T00:00:00"}),
                 _schedule("c", checked_until="2026-01-01T00:00:00"),
                 _schedule("d", created_at="garbage"),
                 _schedule("e", {**_interval(3600), "start": "soon"})),
    entries_case("schedules-wrong-types", "schedules.json", "schedules",
                 _schedule("a", None, enabled="yes"), _schedule("b", None, grace_seconds=-1),
                 _schedule("c", None, grace_seconds=10**30), _schedule("d", "x"), _schedule("e", [None]),
                 {"job": GOOD_JOB, "trigger": _interval(3600)}, {"id": 5, "job": GOOD_JOB, "trigger": _interval(3600)},
                 1, None, "x"),
    entries_case("schedules-nested-nulls", "schedules.json", "schedules",
                 {"id": None, "job": None, "trigger": {"kind": None, "timezone": None}}),
    Case("schedules-extra-field-is-fine", "schedules.json",
         _with_entries("schedules", _schedule("extra", None, colour="red")), bad=0),
    entries_case("jobs-wrong-fields", "schedules.json", "jobs",
                 _job(5), _job("a", batch_size=0), _job("b", batch_size="big"), _job("c", mode="merge"),
                 _job("d", keys="id"), _job("e", column_map=[1]), _job("f", query=None), _job("g", mode="upsert"),
                 _job("h", batch_size=10**30), _job("i", table=""), _job("j", created_at="today"),
                 _job(GOOD_JOB.upper()), {"name": "only a name"}, None),
    *whole_file_cases("schedules.json", "schedules"),
    Case("schedules-jobs-is-text", "schedules.json", _with_field("jobs", "abc"), set_aside=True),
]

SETTINGS_CASES = [
    Case("settings-wrong-values", "settings.json",
         lambda d: json.dumps({**d, "batch_size": -1, "default_mode": 5, "close_to_tray": [],
                               "history_retention_days": 10**30}).encode(), bad=4),
    Case("settings-null-and-nan", "settings.json",
         lambda d: json.dumps({**d, "batch_size": float("nan"), "default_mode": None}).encode(), bad=2),
    Case("settings-huge-and-nested", "settings.json",
         lambda d: json.dumps({**d, "batch_size": 1e400, "close_to_tray": {"a": None}}).encode(), bad=2),
    Case("settings-extra-field-is-fine", "settings.json", lambda d: json.dumps({**d, "colour": "red"}).encode(),
         bad=0),
    Case("settings-top-level-list", "settings.json", _text(b"[1, 2]"), set_aside=True),
    Case("settings-not-utf8", "settings.json", _text(b'{"version": 1, "default_mode": "\xff"}'), set_aside=True),
    Case("settings-empty-file", "settings.json", _text(b""), set_aside=True),
    Case("settings-byte-order-mark", "settings.json", _bom, bad=0),
]


@dataclass(frozen=True)
class Command:
    id: str
    args: tuple[str, ...]
    #: The files it reads (so it must report their bad entries) and the one it writes, if any.
    reads: frozenset[str]
    writes: str | None = None
    #: Text the good entries put in its output.
    shows: tuple[str, ...] = ()


ALWAYS = frozenset({"settings.json"})  # every command's first-start check reads it
CONNECTIONS = ALWAYS | {"connections.json"}
COMMANDS = [
    Command("connections-list", ("connections", "list"), CONNECTIONS, shows=(DEMO_SOURCE_NAME, DEMO_TARGET_NAME)),
    Command("connections-test", ("connections", "test", DEMO_SOURCE_NAME), CONNECTIONS, writes="connections.json",
            shows=("ok: SQLite",)),
    Command("connections-add", ("connections", "add", "added", "--type", "sqlite", "--path", "added.sqlite", "--create"),
            CONNECTIONS, writes="connections.json", shows=("saved connection 'added'",)),
    Command("migrate", ("migrate", "--source", DEMO_SOURCE_NAME, "--target", DEMO_TARGET_NAME, "--query",
                        "SELECT 1 AS a", "--table", "matrix_t", "--mode", "replace"),
            CONNECTIONS, writes="connections.json", shows=("succeeded: 1 rows read",)),
    Command("jobs-list", ("jobs", "list"), ALWAYS | {"schedules.json"}, shows=(GOOD_JOB,)),
    Command("schedule-list", ("schedule", "list"), ALWAYS | {"schedules.json"}, shows=("good1", "good2")),
    Command("schedule-add", ("schedule", "add", GOOD_JOB, "--daily", "07:00"), ALWAYS | {"schedules.json"},
            writes="schedules.json", shows=("added schedule",)),
    Command("history", ("history",), ALWAYS, shows=("STATUS",)),
    Command("settings-get", ("settings", "get"), ALWAYS, shows=("batch_size = ",)),
    Command("settings-set", ("settings", "set", "default_mode", "replace"), ALWAYS, writes="settings.json",
            shows=("default_mode = replace",)),
]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home after a first start, with a good job and two good schedules."""
    home = tmp_path_factory.mktemp("template") / "home"
    assert main(["--home", str(home), "connections", "list"]) == 0
    assert main(["--home", str(home), "jobs", "add", GOOD_JOB, "--source", DEMO_SOURCE_NAME, "--target",
                 DEMO_TARGET_NAME, "--query", "SELECT 1 AS a", "--table", "good_t", "--mode", "replace"]) == 0
    document = json.loads((home / "schedules.json").read_text(encoding="utf-8"))
    now = "2026-01-01T00:00:00+00:00"
    document["schedules"] = [
        _schedule("good1", None, created_at=now, checked_until="2099-01-01T00:00:00+00:00"),
        _schedule("good2", {"kind": "daily", "timezone": "Europe/Berlin", "time": "06:30"}, created_at=now,
                  checked_until="2099-01-01T00:00:00+00:00")]
    (home / "schedules.json").write_text(json.dumps(document), encoding="utf-8")
    return home


def _notice_lines(err: str, file: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("qdbm: notice:") and file in line
            and ("is skipped" in line or "could not be read" in line or "default is used" in line)]


def _stored_text(home: Path, file: str) -> str:
    """The file and every copy of it set aside, as text (the bad entries must be in one of them)."""
    texts = [p.read_bytes().decode("utf-8", "replace") for p in sorted(home.glob(f"{file}*"))]
    return "\n".join(texts)


ALL_CASES = CONNECTION_CASES + SCHEDULE_CASES + SETTINGS_CASES


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.id)
@pytest.mark.parametrize("case", ALL_CASES, ids=lambda c: c.id)
def test_a_malformed_file_costs_only_its_bad_entries_one_line_each_and_keeps_them(
        case: Case, command: Command, template: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    shutil.copytree(template, home)
    monkeypatch.chdir(tmp_path)
    good = json.loads((home / case.file).read_text(encoding="utf-8"))
    original = case.build(good)
    (home / case.file).write_bytes(original)
    capsys.readouterr()

    code = main(["--home", str(home), *command.args])
    out, err = capsys.readouterr()

    assert "Traceback" not in err + out and "unexpected error" not in err, err
    if case.set_aside:
        # The good entries went aside with the file: a command needing one fails, saying so in one line.
        assert code == 0 or (code in (1, 2) and err.splitlines()[-1].startswith("qdbm: error: ")), err
    else:
        assert code == 0, err
        for text in command.shows:
            assert text in out, (out, err)
    lines = _notice_lines(err, case.file)
    expected = 1 if case.set_aside else case.bad
    if case.file in command.reads:
        assert len(lines) == expected, err
    else:
        assert len(lines) <= expected, err
    assert len(err.splitlines()) == len(set(err.splitlines())), "a notice was repeated"
    if case.set_aside and case.file in command.reads:
        (kept,) = home.glob(f"{case.file}.corrupt-*")
        assert kept.read_bytes() == original
        assert kept.name in lines[0]
    if case.bad_entries:
        stored = _stored_text(home, case.file)
        for entry in case.bad_entries:
            assert json.dumps(entry, allow_nan=True) in stored.replace("\n", "") or _in_json(entry, home, case)


def _in_json(entry: Any, home: Path, case: Case) -> bool:
    """Whether ``entry`` is still one of the stored list's entries (the file may be reformatted)."""
    key = "connections" if case.file == "connections.json" else None
    for path in home.glob(f"{case.file}*"):
        document = json.loads(path.read_text(encoding="utf-8"))
        lists = [document.get(key)] if key else [document.get("jobs"), document.get("schedules")]
        for stored in lists:
            if isinstance(stored, list) and json.dumps(entry, allow_nan=True) in (
                    json.dumps(e, allow_nan=True) for e in stored):
                return True
    return False


@pytest.mark.parametrize("case", [c for c in ALL_CASES if c.bad_entries], ids=lambda c: c.id)
def test_bad_entries_survive_a_write_of_their_file_byte_for_byte_as_json(
        case: Case, template: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    shutil.copytree(template, home)
    monkeypatch.chdir(tmp_path)
    (home / case.file).write_bytes(case.build(json.loads((home / case.file).read_text(encoding="utf-8"))))
    writer = next(c for c in COMMANDS if c.writes == case.file)

    assert main(["--home", str(home), *writer.args]) == 0
    capsys.readouterr()

    document = json.loads((home / case.file).read_text(encoding="utf-8"))
    stored = [json.dumps(e, allow_nan=True) for key in ("connections", "jobs", "schedules")
              for e in document.get(key) or []]
    for entry in case.bad_entries:
        assert json.dumps(entry, allow_nan=True) in stored
    assert not list(home.glob(f"{case.file}.corrupt-*")), "entries that were kept need no copy aside"


def test_settings_that_cannot_be_read_stay_in_the_file_when_another_setting_is_changed(
        template: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "home"
    shutil.copytree(template, home)
    document = json.loads((home / "settings.json").read_text(encoding="utf-8"))
    (home / "settings.json").write_text(json.dumps({**document, "batch_size": "lots", "close_to_tray": None}),
                                        encoding="utf-8")

    assert main(["--home", str(home), "settings", "set", "default_mode", "replace"]) == 0
    err = capsys.readouterr().err

    stored = json.loads((home / "settings.json").read_text(encoding="utf-8"))
    assert (stored["batch_size"], stored["close_to_tray"], stored["default_mode"]) == ("lots", None, "replace")
    assert len(_notice_lines(err, "settings.json")) == 2


def test_a_notice_names_the_entry_the_field_and_the_reason(
        template: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "home"
    shutil.copytree(template, home)
    path = home / "schedules.json"
    path.write_bytes(_with_entries("schedules", _schedule("neg", _interval(-5)))(json.loads(path.read_text())))
    path = home / "connections.json"
    path.write_bytes(_with_entries("connections", _conn(name="pg1", port="abc"))(json.loads(path.read_text())))

    assert main(["--home", str(home), "schedule", "list"]) == 0
    err = capsys.readouterr().err
    assert main(["--home", str(home), "connections", "list"]) == 0
    err += capsys.readouterr().err

    (schedule_line,) = _notice_lines(err, "schedules.json")
    assert '"neg"' in schedule_line and GOOD_JOB in schedule_line and "trigger.every_seconds" in schedule_line
    assert "-5" in schedule_line and "minimum of 60" in schedule_line
    (connection_line,) = _notice_lines(err, "connections.json")
    assert '"pg1"' in connection_line and "port" in connection_line and '"abc"' in connection_line


def test_removing_a_bad_entry_by_name_is_how_a_user_fixes_the_file(
        template: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "home"
    shutil.copytree(template, home)
    path = home / "connections.json"
    path.write_bytes(_with_entries("connections", _conn(name="pg1", port="abc"))(json.loads(path.read_text())))

    assert main(["--home", str(home), "connections", "remove", "pg1"]) == 0
    assert main(["--home", str(home), "connections", "list"]) == 0
    err = capsys.readouterr().err

    assert "pg1" not in path.read_text(encoding="utf-8")
    assert not _notice_lines(err.split("removed connection")[-1], "connections.json")


def test_a_job_file_of_the_wrong_shape_is_refused_in_one_line(
        tmp_path: Path, template: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "home"
    shutil.copytree(template, home)
    bad_files = {
        "batch.json": json.dumps({"format": "qdbm-job", "version": 1, "job": _job("x", batch_size="big")}),
        "keys.json": json.dumps({"format": "qdbm-job", "version": 1, "job": _job("x", keys=[None])}),
        "null.json": json.dumps({"format": "qdbm-job", "version": 1, "job": None}),
        "version.json": json.dumps({"format": "qdbm-job", "version": True, "job": _job("x")}),
    }
    for name, text in bad_files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    (tmp_path / "latin1.json").write_bytes('{"format": "qdbm-job", "name": "Müller"}'.encode("latin-1"))
    (tmp_path / "deep.json").write_bytes(b"[" * 100_000 + b"]" * 100_000)
    for name in [*bad_files, "latin1.json", "deep.json"]:
        for args in (("run", "--file", str(tmp_path / name)), ("jobs", "import", str(tmp_path / name))):
            code = main(["--home", str(home), *args])
            err = capsys.readouterr().err
            assert code == 2, (name, err)
            (line,) = [line for line in err.splitlines() if "error" in line]
            assert name in line and "unexpected" not in line and "Traceback" not in err


def test_bom_at_the_start_of_a_job_file_is_read(tmp_path: Path, template: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "home"
    shutil.copytree(template, home)
    path = tmp_path / "job.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps({"format": "qdbm-job", "version": 1,
                                                    "job": _job("from file", table="from_file")}).encode())
    assert main(["--home", str(home), "jobs", "import", str(path)]) == 0, capsys.readouterr().err
    assert "imported job 'from file'" in capsys.readouterr().out



# Every schedules.json entry case; of the whole-file cases (one path in the code for every store), a few.
SCHEDULER_CASES = [c for c in ALL_CASES if (c.file == "schedules.json" and not c.set_aside) or c.id in {
    "schedules-schedules-is-text", "schedules-not-utf8", "schedules-top-level-list", "connections-non-objects",
    "connections-port-text", "connections-connections-is-text", "settings-wrong-values"}]


@pytest.mark.parametrize("case", SCHEDULER_CASES, ids=lambda c: c.id)
def test_the_scheduler_runs_briefly_on_a_malformed_file_names_its_bad_entries_once_and_stops_on_sigterm(
        case: Case, template: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    shutil.copytree(template, home)
    original = case.build(json.loads((home / case.file).read_text(encoding="utf-8")))
    (home / case.file).write_bytes(original)
    out_path, err_path = tmp_path / "out", tmp_path / "err"
    env = {**os.environ, "QDBM_HOME": str(home), "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    with out_path.open("w") as out_file, err_path.open("w") as err_file:
        process = subprocess.Popen([sys.executable, "-m", "qdbm_desktop.cli", "scheduler", "--check-every", "1"],
                                   env=env, cwd=REPO, stdout=out_file, stderr=err_file)
    try:
        deadline = time.monotonic() + 30
        while "runs the schedules of" not in out_path.read_text(encoding="utf-8"):
            assert process.poll() is None, err_path.read_text(encoding="utf-8")
            assert time.monotonic() < deadline, "the scheduler did not start"
            time.sleep(0.1)
        time.sleep(1.2)  # a heartbeat or two: the file is read again, and nothing is said twice
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    out, err = out_path.read_text(encoding="utf-8"), err_path.read_text(encoding="utf-8")

    assert "Traceback" not in err and "unexpected error" not in err, err
    assert len(err.splitlines()) == len(set(err.splitlines())), "a line was repeated"
    lines = _notice_lines(err, case.file)
    if case.file == "schedules.json":
        assert len(lines) == (1 if case.set_aside else case.bad), err
        if not case.set_aside:
            assert "good1" in out and "good2" in out
    assert "qdbm scheduler stopped" in out
    stored = _stored_text(home, case.file)
    for entry in case.bad_entries:
        assert json.dumps(entry, allow_nan=True) in stored.replace("\n", "") or _in_json(entry, home, case)


def test_remove_commands_remove_an_entry_that_cannot_be_read(
        template: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "home"
    shutil.copytree(template, home)
    path = home / "schedules.json"
    path.write_bytes(_with_entries("schedules", _schedule("neg", _interval(-5)))(json.loads(path.read_text())))
    path.write_bytes(_with_entries("jobs", _job("broken", batch_size="big"))(json.loads(path.read_text())))

    assert main(["--home", str(home), "schedule", "remove", "neg"]) == 0
    assert main(["--home", str(home), "jobs", "remove", "broken"]) == 0
    capsys.readouterr()
    assert main(["--home", str(home), "schedule", "list"]) == 0

    out, err = capsys.readouterr()
    assert "neg" not in path.read_text() and "broken" not in path.read_text()
    assert "good1" in out and not _notice_lines(err, "schedules.json")


def test_adding_a_connection_under_the_name_of_one_that_cannot_be_read_says_so_and_replace_replaces_it(
        template: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "home"
    shutil.copytree(template, home)
    path = home / "connections.json"
    path.write_bytes(_with_entries("connections", _conn(name="pg1", port="abc"))(json.loads(path.read_text())))
    add = ["--home", str(home), "connections", "add", "pg1", "--type", "postgresql", "--host", "db.example"]

    assert main(add) == 1
    err = capsys.readouterr().err
    assert "cannot be read" in err.splitlines()[-1] and '"abc"' in path.read_text()
    assert main(add[:-4] + ["--url", "postgresql://u@db.example:5433/d"]) == 1
    capsys.readouterr()

    context = AppContext.create(AppPaths(home))
    context.connections.add(ConnectionProfile(name="pg1", type="postgresql", host="db.example", port=5433),
                            replace_existing=True)
    entries = json.loads(path.read_text())["connections"]
    assert [e.get("port") for e in entries if e.get("name") == "pg1"] == [5433]


def test_fields_this_version_does_not_know_survive_an_update_of_their_entry(
        template: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "home"
    shutil.copytree(template, home)
    path = home / "schedules.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    document["schedules"][0]["note"] = "ask Ana before changing"
    path.write_text(json.dumps(document), encoding="utf-8")
    connections = home / "connections.json"
    document = json.loads(connections.read_text(encoding="utf-8"))
    document["connections"][0]["team"] = "finance"
    connections.write_text(json.dumps(document), encoding="utf-8")

    assert main(["--home", str(home), "schedule", "disable", "good1"]) == 0
    assert main(["--home", str(home), "connections", "test", DEMO_SOURCE_NAME]) == 0
    capsys.readouterr()

    (good1,) = [s for s in json.loads(path.read_text())["schedules"] if s["id"] == "good1"]
    assert (good1["enabled"], good1["note"]) == (False, "ask Ana before changing")
    demo = json.loads(connections.read_text())["connections"][0]
    assert demo["team"] == "finance" and demo["last_test"].startswith("ok")
