"""Preferences in settings.json: defaults, validation, persistence, hand-edited values."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from qdbm_desktop.core.errors import ReadOnlyConfigError, UsageError
from qdbm_desktop.core.paths import AppPaths
from qdbm_desktop.core.settings import USER_KEYS, Settings, SettingsStore, parse_setting


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def test_fresh_settings_have_the_documented_defaults_and_are_written_out(paths: AppPaths) -> None:
    settings = SettingsStore(paths).get()

    assert settings == Settings(batch_size=50_000, default_mode="append", close_to_tray=True,
                                history_retention_days=90, first_run_done=False, verify="counts")
    assert read_json(paths.settings_file) == {"version": 1, "batch_size": 50000, "default_mode": "append",
                                              "close_to_tray": True, "history_retention_days": 90,
                                              "verify": "counts", "first_run_done": False}


def test_set_value_is_returned_persisted_and_seen_by_a_new_store(paths: AppPaths) -> None:
    store = SettingsStore(paths)

    returned = store.set("batch_size", "5000")
    store.set("default_mode", " Truncate ")

    assert returned.batch_size == 5000
    on_disk = read_json(paths.settings_file)
    assert on_disk["version"] == 1
    assert on_disk["batch_size"] == 5000 and isinstance(on_disk["batch_size"], int)
    assert on_disk["default_mode"] == "truncate"
    assert SettingsStore(paths).get() == Settings(batch_size=5000, default_mode="truncate")


def test_batch_size_accepts_underscores_and_the_limits(paths: AppPaths) -> None:
    store = SettingsStore(paths)

    assert store.set("batch_size", "1").batch_size == 1
    assert store.set("batch_size", "10_000_000").batch_size == 10_000_000
    assert store.set("batch_size", 250).batch_size == 250


@pytest.mark.parametrize("value", ["0", "-5", "abc", "20000000", "", "1.5", "10000001"])
def test_invalid_batch_size_names_the_setting_and_leaves_the_file_unchanged(paths: AppPaths, value: str) -> None:
    store = SettingsStore(paths)
    store.set("batch_size", "5000")
    before = paths.settings_file.read_bytes()

    with pytest.raises(UsageError, match="batch_size"):
        store.set("batch_size", value)

    assert paths.settings_file.read_bytes() == before
    assert store.get().batch_size == 5000


def test_invalid_default_mode_is_refused_with_the_allowed_modes(paths: AppPaths) -> None:
    store = SettingsStore(paths)
    store.get()
    before = paths.settings_file.read_bytes()

    with pytest.raises(UsageError, match=r"default_mode must be one of append, truncate.*'merge'"):
        store.set("default_mode", "merge")

    assert paths.settings_file.read_bytes() == before


def test_unknown_setting_is_refused_and_not_written(paths: AppPaths) -> None:
    store = SettingsStore(paths)
    store.get()
    before = paths.settings_file.read_bytes()

    with pytest.raises(UsageError, match="unknown setting 'colour'"):
        store.set("colour", "blue")

    assert paths.settings_file.read_bytes() == before


@pytest.mark.parametrize(
    ("key", "bad", "field_default"),
    [("batch_size", "-1", 50_000), ("batch_size", "lots", 50_000), ("batch_size", True, 50_000),
     ("default_mode", "merge", "append")],
)
def test_hand_edited_invalid_value_falls_back_to_default_with_a_notice(paths: AppPaths, key: str, bad: object, field_default: object) -> None:
    document = {"version": 1, "batch_size": 2000, "default_mode": "replace", "first_run_done": True}
    document[key] = bad
    paths.home.mkdir(parents=True)
    paths.settings_file.write_text(json.dumps(document), encoding="utf-8")
    store = SettingsStore(paths)

    settings = store.get()

    assert getattr(settings, key) == field_default
    for other in ({"batch_size", "default_mode", "first_run_done"} - {key}):
        assert getattr(settings, other) == document[other]
    assert len(store.notices) == 1
    assert "settings.json" in store.notices[0] and key in store.notices[0]
    assert "default is used" in store.notices[0]


def test_hand_edited_invalid_flag_falls_back_to_default_with_a_notice(paths: AppPaths) -> None:
    paths.home.mkdir(parents=True)
    paths.settings_file.write_text('{"version": 1, "batch_size": 2000, "first_run_done": "perhaps"}',
                                   encoding="utf-8")
    store = SettingsStore(paths)

    settings = store.get()

    assert settings.first_run_done is False
    assert settings.batch_size == 2000
    assert len(store.notices) == 1
    assert "'perhaps'" in store.notices[0] and "default is used" in store.notices[0]


def test_notice_for_a_hand_edited_invalid_flag_names_the_setting(paths: AppPaths) -> None:
    paths.home.mkdir(parents=True)
    paths.settings_file.write_text('{"version": 1, "first_run_done": "perhaps"}', encoding="utf-8")
    store = SettingsStore(paths)

    store.get()

    assert "first_run_done" in store.notices[0]


def test_repeated_reads_of_a_hand_edited_invalid_value_give_one_notice(paths: AppPaths) -> None:
    paths.home.mkdir(parents=True)
    paths.settings_file.write_text('{"version": 1, "batch_size": "lots"}', encoding="utf-8")
    store = SettingsStore(paths)

    for _ in range(3):
        assert store.get().batch_size == 50_000

    assert len(store.notices) == 1


# -- close_to_tray and history_retention_days ---------------------------------------------------

def test_file_written_before_the_tray_and_retention_settings_reads_their_defaults_unchanged(paths: AppPaths) -> None:
    paths.home.mkdir(parents=True)
    old = '{"version": 1, "batch_size": 2000, "default_mode": "replace", "first_run_done": true}'
    paths.settings_file.write_text(old, encoding="utf-8")
    store = SettingsStore(paths)

    settings = store.get()

    assert settings == Settings(batch_size=2000, default_mode="replace", close_to_tray=True,
                                history_retention_days=90, first_run_done=True)
    assert store.notices == []
    assert paths.settings_file.read_text(encoding="utf-8") == old
    assert not list(paths.home.glob("settings.json.*"))


def test_adding_a_new_setting_to_an_old_file_keeps_the_other_values(paths: AppPaths) -> None:
    paths.home.mkdir(parents=True)
    paths.settings_file.write_text('{"version": 1, "batch_size": 2000, "first_run_done": true}', encoding="utf-8")

    SettingsStore(paths).set("close_to_tray", "false")

    assert read_json(paths.settings_file) == {"version": 1, "batch_size": 2000, "first_run_done": True,
                                              "close_to_tray": False}


@pytest.mark.parametrize(("text", "value"), [("true", True), ("No", False), ("0", False), (" on ", True),
                                             (False, False)])
def test_close_to_tray_accepts_the_usual_spellings(paths: AppPaths, text: str | bool, value: bool) -> None:
    store = SettingsStore(paths)

    assert store.set("close_to_tray", text).close_to_tray is value
    assert read_json(paths.settings_file)["close_to_tray"] is value


def test_invalid_close_to_tray_names_the_setting(paths: AppPaths) -> None:
    with pytest.raises(UsageError, match="close_to_tray: expected true or false, not 'sometimes'"):
        SettingsStore(paths).set("close_to_tray", "sometimes")


@pytest.mark.parametrize(("text", "days"), [("0", 0), ("1", 1), ("36500", 36_500), ("1_000", 1000), (30, 30)])
def test_history_retention_accepts_zero_for_forever_up_to_a_hundred_years(paths: AppPaths, text: str | int, days: int) -> None:
    store = SettingsStore(paths)

    assert store.set("history_retention_days", text).history_retention_days == days
    assert SettingsStore(paths).get().history_retention_days == days


@pytest.mark.parametrize("text", ["-1", "36501", "a month", "", "1.5"])
def test_invalid_history_retention_is_refused_and_the_file_left_unchanged(paths: AppPaths, text: str) -> None:
    store = SettingsStore(paths)
    store.get()
    before = paths.settings_file.read_bytes()

    with pytest.raises(UsageError, match="history_retention_days"):
        store.set("history_retention_days", text)

    assert paths.settings_file.read_bytes() == before


def test_hand_edited_invalid_retention_falls_back_to_the_default_with_a_notice(paths: AppPaths) -> None:
    paths.home.mkdir(parents=True)
    paths.settings_file.write_text('{"version": 1, "history_retention_days": -3}', encoding="utf-8")
    store = SettingsStore(paths)

    assert store.get().history_retention_days == 90
    assert len(store.notices) == 1 and "history_retention_days" in store.notices[0]


def test_new_settings_are_user_settings_and_bookkeeping_is_not() -> None:
    assert USER_KEYS == ("batch_size", "default_mode", "close_to_tray", "history_retention_days", "verify")
    assert parse_setting("history_retention_days", "0") == 0
    assert parse_setting("verify", " Checksum ") == "checksum"
    with pytest.raises(UsageError, match="verify must be one of counts, checksum"):
        parse_setting("verify", "sha")


# -- several values at once, read-only files ----------------------------------------------------

def test_update_stores_several_values_in_one_write(paths: AppPaths) -> None:
    store = SettingsStore(paths)

    settings = store.update({"batch_size": "7000", "close_to_tray": False, "history_retention_days": "0"})

    assert (settings.batch_size, settings.close_to_tray, settings.history_retention_days) == (7000, False, 0)
    assert SettingsStore(paths).get() == settings


def test_update_with_one_invalid_value_writes_none_of_them(paths: AppPaths) -> None:
    store = SettingsStore(paths)
    store.get()
    before = paths.settings_file.read_bytes()

    with pytest.raises(UsageError, match="history_retention_days"):
        store.update({"batch_size": "7000", "history_retention_days": "-1"})

    assert paths.settings_file.read_bytes() == before


def test_file_from_a_newer_version_reports_why_it_is_read_only_and_refuses_writes(paths: AppPaths) -> None:
    paths.home.mkdir(parents=True)
    paths.settings_file.write_text('{"version": 7, "batch_size": 2000}', encoding="utf-8")
    store = SettingsStore(paths)
    reason_before_a_read = store.read_only_reason
    assert reason_before_a_read is None

    assert store.get().batch_size == 2000

    assert store.read_only_reason is not None and "newer QDBM Desktop" in store.read_only_reason
    with pytest.raises(ReadOnlyConfigError):
        store.set("batch_size", "3000")


def test_command_line_gets_and_sets_the_tray_and_retention_settings(paths: AppPaths, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from qdbm_desktop.cli import main

    monkeypatch.setenv("QDBM_HOME", str(paths.home))

    assert main(["settings", "set", "close_to_tray", "off"]) == 0
    assert main(["settings", "set", "history_retention_days", "0"]) == 0
    capsys.readouterr()
    assert main(["settings", "get"]) == 0
    listing = capsys.readouterr().out.splitlines()

    assert "close_to_tray = False" in listing
    assert "history_retention_days = 0" in listing
    assert main(["settings", "set", "history_retention_days", "-2"]) == 2
    assert "history_retention_days must be between 0" in capsys.readouterr().err
    assert SettingsStore(paths).get().history_retention_days == 0
