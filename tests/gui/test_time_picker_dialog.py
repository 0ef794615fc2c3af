"""The time picker, driven through its widgets on a clock the tests set, in Europe/Berlin."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from PySide6.QtCore import QDate, QPoint, Qt, QTime
from PySide6.QtWidgets import QAbstractButton, QDateTimeEdit, QDialog, QTableView
from pytestqt.qtbot import QtBot

from qdbm_desktop.core.errors import UsageError
from qdbm_desktop.core.triggers import ScheduleTrigger, TriggerKind
from qdbm_desktop.gui.time_picker_dialog import TimePickerDialog, offset_text, wall_time

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
# A Wednesday afternoon in Berlin (14:07:23 CET).
WEDNESDAY = datetime(2026, 11, 25, 13, 7, 23, tzinfo=timezone.utc)


class Clock:
    """The dialog's ``now``: a time the test sets and moves."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def __call__(self) -> datetime:
        return self.current


OpenDialog = Callable[..., TimePickerDialog]


@pytest.fixture(autouse=True)
def _computer_in_berlin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("qdbm_desktop.gui.time_picker_dialog.local_zone_name", lambda: "Europe/Berlin")


@pytest.fixture
def clock() -> Clock:
    return Clock(WEDNESDAY)


@pytest.fixture
def open_dialog(qtbot: QtBot, clock: Clock) -> OpenDialog:
    """Shows a time picker on the test's clock; pytest-qt closes it after the test."""

    def open_(initial: ScheduleTrigger | None = None, grace_seconds: int = 0) -> TimePickerDialog:
        dialog = TimePickerDialog(initial=initial, grace_seconds=grace_seconds, now=clock)
        qtbot.addWidget(dialog)
        with qtbot.waitExposed(dialog):
            dialog.show()
        return dialog

    return open_


def _click(qtbot: QtBot, button: QAbstractButton) -> None:
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def _tick(qtbot: QtBot, button: QAbstractButton) -> None:
    """Click a check box on its indicator (a wide one ignores clicks past its text)."""
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton, pos=QPoint(6, button.height() // 2))


def _type_time(qtbot: QtBot, dialog: TimePickerDialog, text: str) -> None:
    edit = dialog.time_edit
    edit.setFocus()
    edit.setSelectedSection(QDateTimeEdit.Section.HourSection)
    qtbot.keyClicks(edit, text)


def _type_cron(qtbot: QtBot, dialog: TimePickerDialog, text: str) -> None:
    dialog.cron_edit.clear()
    qtbot.keyClicks(dialog.cron_edit, text)


def _choose(dialog: TimePickerDialog, kind: TriggerKind) -> None:
    dialog.kind_combo.setCurrentIndex(dialog.kind_combo.findData(kind.value))


def _chosen(dialog: TimePickerDialog) -> tuple[QDate, str]:
    return dialog.calendar.selectedDate(), dialog.time_edit.time().toString("HH:mm")


def _shown_runs(dialog: TimePickerDialog) -> list[str]:
    return dialog.next_runs_label.text().splitlines()


def _press_ok(qtbot: QtBot, dialog: TimePickerDialog) -> None:
    _click(qtbot, dialog.ok_button)


# -- the clock and the zone -----------------------------------------------------------------


def test_the_computer_time_zone_and_its_current_offset_are_shown(open_dialog: OpenDialog, clock: Clock) -> None:
    dialog = open_dialog()
    assert dialog.zone_combo.currentText() == "Europe/Berlin"
    assert dialog.zone_label.text() == "UTC+01:00 now · this computer's time zone"
    clock.current = datetime(2026, 7, 1, 12, tzinfo=timezone.utc)
    assert open_dialog().zone_label.text().startswith("UTC+02:00 now")


def test_a_new_one_off_starts_at_the_next_whole_hour_and_is_valid(open_dialog: OpenDialog) -> None:
    dialog = open_dialog()
    assert dialog.kind() is TriggerKind.ONCE
    assert _chosen(dialog) == (QDate(2026, 11, 25), "15:00")
    assert dialog.error_text() == ""
    assert dialog.trigger() == ScheduleTrigger.once(datetime(2026, 11, 25, 15, 0, tzinfo=BERLIN), "Europe/Berlin")
    assert dialog.description_label.text() == "Once on 2026-11-25 at 15:00 (Europe/Berlin)"
    assert _shown_runs(dialog) == ["Wed 2026-11-25 15:00 CET"]


# -- quick buttons --------------------------------------------------------------------------


def test_quick_buttons_set_times_relative_to_the_clock(qtbot: QtBot, open_dialog: OpenDialog) -> None:
    dialog = open_dialog()
    _click(qtbot, dialog.plus_15_button)
    assert _chosen(dialog) == (QDate(2026, 11, 25), "14:22")
    assert dialog.trigger().once_time() == datetime(2026, 11, 25, 14, 22, tzinfo=BERLIN)
    _click(qtbot, dialog.plus_30_button)
    assert _chosen(dialog) == (QDate(2026, 11, 25), "14:37")
    _click(qtbot, dialog.plus_hour_button)
    assert _chosen(dialog) == (QDate(2026, 11, 25), "15:07")
    assert dialog.description_label.text() == "Once on 2026-11-25 at 15:07 (Europe/Berlin)"
    assert _shown_runs(dialog) == ["Wed 2026-11-25 15:07 CET"]


def test_now_is_one_minute_ahead_rounded_up_so_it_has_not_passed_when_accepted(
        qtbot: QtBot, open_dialog: OpenDialog, clock: Clock) -> None:
    dialog = open_dialog()
    _click(qtbot, dialog.now_button)
    # 14:07:23 + 1 minute = 14:08:23, rounded up to 14:09.
    assert _chosen(dialog) == (QDate(2026, 11, 25), "14:09")
    clock.current = datetime(2026, 11, 25, 13, 30, 0, tzinfo=timezone.utc)
    _click(qtbot, dialog.now_button)
    assert _chosen(dialog) == (QDate(2026, 11, 25), "14:31")
    clock.current += timedelta(seconds=50)
    _press_ok(qtbot, dialog)
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert dialog.trigger().once_time() == datetime(2026, 11, 25, 14, 31, tzinfo=BERLIN)


def test_tomorrow_0900_crosses_a_month_end_in_the_chosen_zone(
        qtbot: QtBot, open_dialog: OpenDialog, clock: Clock) -> None:
    clock.current = datetime(2026, 11, 30, 20, 0, tzinfo=timezone.utc)  # 21:00 on the 30th in Berlin
    dialog = open_dialog()
    _click(qtbot, dialog.tomorrow_button)
    assert _chosen(dialog) == (QDate(2026, 12, 1), "09:00")
    assert dialog.trigger().once_time() == datetime(2026, 12, 1, 9, 0, tzinfo=BERLIN)
    # 23:30 UTC on the 30th is already 00:30 on 1 December in Berlin: tomorrow is the 2nd there.
    clock.current = datetime(2026, 11, 30, 23, 30, tzinfo=timezone.utc)
    _click(qtbot, dialog.tomorrow_button)
    assert _chosen(dialog) == (QDate(2026, 12, 2), "09:00")


def test_plus_one_hour_late_in_the_evening_moves_to_the_next_day(
        qtbot: QtBot, open_dialog: OpenDialog, clock: Clock) -> None:
    clock.current = datetime(2026, 12, 31, 22, 40, 5, tzinfo=timezone.utc)  # 23:40 on New Year's Eve
    dialog = open_dialog()
    _click(qtbot, dialog.plus_hour_button)
    assert _chosen(dialog) == (QDate(2027, 1, 1), "00:40")


# -- refusals -------------------------------------------------------------------------------


def test_a_past_one_off_time_is_refused_and_ok_keeps_the_dialog_open(qtbot: QtBot, open_dialog: OpenDialog) -> None:
    dialog = open_dialog()
    _type_time(qtbot, dialog, "13:30")
    assert dialog.error_text() == "2026-11-25 13:30 is in the past; choose a later time"
    assert dialog.description_label.text() == "—" and dialog.shown_fire_times == []
    with pytest.raises(UsageError, match="in the past"):
        dialog.trigger()
    dialog.kind_combo.setFocus()
    _press_ok(qtbot, dialog)
    assert dialog.isVisible() and dialog.result() != QDialog.DialogCode.Accepted
    assert dialog.message_label.isVisible()
    qtbot.waitUntil(dialog.time_edit.hasFocus)
    # Yesterday in the calendar, with the keyboard: still in the past.
    _type_time(qtbot, dialog, "18:00")
    assert dialog.error_text() == ""
    view = dialog.calendar.findChild(QTableView)
    assert view is not None
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_Left)
    assert dialog.error_text() == "2026-11-24 18:00 is in the past; choose a later time"


def test_a_time_that_passes_while_the_dialog_is_open_is_refused_on_ok(
        qtbot: QtBot, open_dialog: OpenDialog, clock: Clock) -> None:
    dialog = open_dialog()
    _click(qtbot, dialog.plus_15_button)
    clock.current += timedelta(minutes=20)
    _press_ok(qtbot, dialog)
    assert dialog.isVisible() and dialog.result() != QDialog.DialogCode.Accepted
    assert dialog.error_text() == "2026-11-25 14:22 is in the past; choose a later time"


def test_a_time_skipped_by_the_spring_change_says_when_it_will_run(
        qtbot: QtBot, open_dialog: OpenDialog) -> None:
    dialog = open_dialog()
    dialog.calendar.setSelectedDate(QDate(2027, 3, 28))
    _type_time(qtbot, dialog, "02:30")
    assert dialog.error_text() == ""
    assert dialog.note_text() == ("02:30 on Sun 2027-03-28 does not exist in Europe/Berlin (the clocks go "
                                  "forward): it will run at 03:30 CEST.")
    assert dialog.trigger().once_time() == datetime(2027, 3, 28, 1, 30, tzinfo=timezone.utc)
    assert _shown_runs(dialog) == ["Sun 2027-03-28 03:30 CEST"]
    _type_time(qtbot, dialog, "03:30")
    assert dialog.note_text() == ""


def test_wall_time_in_the_autumn_repeat_is_the_first_occurrence() -> None:
    when, note = wall_time(datetime(2026, 10, 25).date(), datetime(2026, 10, 25, 2, 30).time(), BERLIN)
    # Compared in UTC: Python never finds a time in a repeated hour equal to one in another zone.
    assert when.astimezone(timezone.utc) == datetime(2026, 10, 25, 0, 30, tzinfo=timezone.utc)
    assert when.isoformat() == "2026-10-25T02:30:00+02:00"
    assert note is not None and "happens twice" in note and "02:30 CEST" in note
    assert offset_text(datetime(2026, 1, 1, tzinfo=ZoneInfo("Asia/Kathmandu"))) == "UTC+05:45"
    assert offset_text(datetime(2026, 1, 1, tzinfo=NEW_YORK)) == "UTC−05:00"


def test_an_unknown_time_zone_is_named_and_refused(qtbot: QtBot, open_dialog: OpenDialog) -> None:
    dialog = open_dialog()
    # Set rather than typed: typing opens the completer popup, which the offscreen platform warns about.
    dialog.zone_combo.setEditText("Mars/Olympus")
    assert dialog.error_text().startswith("Unknown time zone 'Mars/Olympus'")
    _press_ok(qtbot, dialog)
    assert dialog.isVisible()


# -- recurring kinds ------------------------------------------------------------------------


def test_weekly_with_toggled_days_gives_the_trigger_and_its_next_five_runs(
        qtbot: QtBot, open_dialog: OpenDialog) -> None:
    dialog = open_dialog()
    _choose(dialog, TriggerKind.WEEKLY)
    days = dialog.day_buttons
    # The day of the chosen date (a Wednesday) is ticked to start with.
    assert [d for d, b in days.items() if b.isChecked()] == ["wed"]
    _click(qtbot, days["wed"])
    _click(qtbot, days["thu"])
    _click(qtbot, days["mon"])
    _type_time(qtbot, dialog, "07:15")
    assert dialog.trigger() == ScheduleTrigger.weekly(["mon", "thu"], "07:15", "Europe/Berlin")
    assert dialog.description_label.text() == "Every Monday and Thursday at 07:15 (Europe/Berlin)"
    assert _shown_runs(dialog) == ["Thu 2026-11-26 07:15 CET", "Mon 2026-11-30 07:15 CET",
                                   "Thu 2026-12-03 07:15 CET", "Mon 2026-12-07 07:15 CET",
                                   "Thu 2026-12-10 07:15 CET"]
    assert dialog.shown_fire_times[0] == datetime(2026, 11, 26, 7, 15, tzinfo=BERLIN)
    _press_ok(qtbot, dialog)
    assert dialog.result() == QDialog.DialogCode.Accepted


def test_weekly_with_no_day_chosen_says_so_and_ok_refuses(qtbot: QtBot, open_dialog: OpenDialog) -> None:
    dialog = open_dialog()
    _choose(dialog, TriggerKind.WEEKLY)
    _click(qtbot, dialog.day_buttons["wed"])
    assert dialog.error_text() == "Choose at least one day of the week"
    assert dialog.next_runs_label.text() == "—"
    dialog.cancel_button.setFocus()
    _press_ok(qtbot, dialog)
    assert dialog.isVisible()
    qtbot.waitUntil(dialog.day_buttons["mon"].hasFocus)


def test_weekly_runs_in_another_zone_are_shown_there_and_here(qtbot: QtBot, open_dialog: OpenDialog) -> None:
    dialog = open_dialog()
    _choose(dialog, TriggerKind.WEEKLY)
    dialog.zone_combo.setCurrentText("America/New_York")
    _type_time(qtbot, dialog, "09:00")
    assert dialog.zone_label.text() == "UTC−05:00 now · this computer: Europe/Berlin (UTC+01:00)"
    assert dialog.trigger() == ScheduleTrigger.weekly(["wed"], "09:00", "America/New_York")
    assert _shown_runs(dialog)[0] == "Wed 2026-11-25 09:00 EST   (Wed 15:00 here)"


def test_daily_takes_its_time_from_the_time_field(qtbot: QtBot, open_dialog: OpenDialog) -> None:
    dialog = open_dialog()
    _choose(dialog, TriggerKind.DAILY)
    assert not dialog.calendar.isEnabled() and dialog.time_edit.isEnabled()
    _type_time(qtbot, dialog, "06:30")
    assert dialog.trigger() == ScheduleTrigger.daily("06:30", "Europe/Berlin")
    assert dialog.description_label.text() == "Daily at 06:30 (Europe/Berlin)"
    assert _shown_runs(dialog)[:2] == ["Thu 2026-11-26 06:30 CET", "Fri 2026-11-27 06:30 CET"]


def test_a_bad_cron_expression_shows_the_reason(qtbot: QtBot, open_dialog: OpenDialog) -> None:
    dialog = open_dialog()
    _choose(dialog, TriggerKind.CRON)
    assert dialog.error_text() == "Enter a cron expression: minute hour day month weekday"
    _type_cron(qtbot, dialog, "61 * * * *")
    assert "the last value (61) is higher than the maximum value (59)" in dialog.error_text()
    _type_cron(qtbot, dialog, "0 9 * *")
    assert dialog.error_text().startswith("A cron expression has five fields")
    dialog.kind_combo.setFocus()
    _press_ok(qtbot, dialog)
    assert dialog.isVisible()
    qtbot.waitUntil(dialog.cron_edit.hasFocus)
    with pytest.raises(UsageError, match="five fields"):
        dialog.trigger()


def test_a_good_cron_expression_is_described_with_its_next_runs(qtbot: QtBot, open_dialog: OpenDialog) -> None:
    dialog = open_dialog()
    _choose(dialog, TriggerKind.CRON)
    assert not dialog.time_edit.isEnabled() and not dialog.now_button.isEnabled()
    _type_cron(qtbot, dialog, "30 6 * * 1-5")
    assert dialog.error_text() == ""
    assert dialog.trigger() == ScheduleTrigger.from_cron("30 6 * * 1-5", "Europe/Berlin")
    assert dialog.description_label.text() == "Cron 30 6 * * 1-5: at 06:30, monday through friday (Europe/Berlin)"
    assert _shown_runs(dialog) == ["Thu 2026-11-26 06:30 CET", "Fri 2026-11-27 06:30 CET",
                                   "Mon 2026-11-30 06:30 CET", "Tue 2026-12-01 06:30 CET",
                                   "Wed 2026-12-02 06:30 CET"]


def test_an_interval_counts_from_the_chosen_time_in_minutes_or_hours(
        qtbot: QtBot, open_dialog: OpenDialog) -> None:
    dialog = open_dialog()
    _choose(dialog, TriggerKind.INTERVAL)
    _click(qtbot, dialog.plus_15_button)
    dialog.interval_spin.selectAll()
    qtbot.keyClicks(dialog.interval_spin, "2")
    dialog.interval_unit_combo.setCurrentIndex(dialog.interval_unit_combo.findData(3600))
    start = datetime(2026, 11, 25, 14, 22, tzinfo=BERLIN)
    assert dialog.trigger() == ScheduleTrigger.interval(7200, "Europe/Berlin", start=start)
    assert dialog.description_label.text() == "Every 2 hours"
    assert dialog.shown_fire_times == [start + timedelta(hours=2 * n) for n in range(5)]
    dialog.interval_unit_combo.setCurrentIndex(dialog.interval_unit_combo.findData(60))
    assert dialog.trigger().every_seconds == 120


def test_an_interval_under_a_minute_is_refused(qtbot: QtBot, open_dialog: OpenDialog) -> None:
    dialog = open_dialog()
    _choose(dialog, TriggerKind.INTERVAL)
    dialog.interval_spin.selectAll()
    qtbot.keyClicks(dialog.interval_spin, "0")
    assert dialog.error_text() == "An interval must be at least 1 minute"
    _press_ok(qtbot, dialog)
    assert dialog.isVisible()
    qtbot.waitUntil(dialog.interval_spin.hasFocus)


# -- an existing trigger --------------------------------------------------------------------


@pytest.mark.parametrize("initial", [
    ScheduleTrigger(TriggerKind.ONCE, "America/New_York", at="2026-12-01T09:45:00-05:00"),
    # Stored in UTC and with seconds (as the command line may write it): the same instant comes back.
    ScheduleTrigger(TriggerKind.ONCE, "Europe/Berlin", at="2026-12-01T08:45:30+00:00"),
    ScheduleTrigger.interval(5400, "Europe/Berlin", start=datetime(2026, 11, 20, 6, 0, 7, tzinfo=timezone.utc)),
    ScheduleTrigger.interval(90, "UTC", start=datetime(2026, 11, 20, 6, 0, tzinfo=timezone.utc)),
    ScheduleTrigger.daily("23:05", "Asia/Tokyo"),
    ScheduleTrigger.weekly(["sat", "sun"], "10:00", "Europe/Berlin"),
    ScheduleTrigger.from_cron("*/20 8-17 * * mon-fri", "America/New_York"),
], ids=["once", "once-utc-seconds", "interval", "interval-seconds", "daily", "weekly", "cron"])
def test_an_initial_trigger_fills_the_dialog_and_comes_back_equal(
        qtbot: QtBot, open_dialog: OpenDialog, initial: ScheduleTrigger) -> None:
    dialog = open_dialog(initial)
    assert dialog.kind() is initial.kind
    assert dialog.zone_combo.currentText() == initial.timezone
    assert dialog.error_text() == ""
    assert dialog.trigger() == initial
    _press_ok(qtbot, dialog)
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert dialog.trigger() == initial


def test_an_initial_trigger_shows_in_the_fields(open_dialog: OpenDialog) -> None:
    once = open_dialog(ScheduleTrigger(TriggerKind.ONCE, "America/New_York", at="2026-12-01T09:45:00-05:00"))
    assert _chosen(once) == (QDate(2026, 12, 1), "09:45")
    interval = open_dialog(ScheduleTrigger.interval(
        5400, "Europe/Berlin", start=datetime(2026, 11, 20, 6, 0, 7, tzinfo=timezone.utc)))
    assert (interval.interval_spin.value(), interval.interval_unit_combo.currentText()) == (90, "minutes")
    assert _chosen(interval) == (QDate(2026, 11, 20), "07:00")
    hours = open_dialog(ScheduleTrigger.interval(7200, "UTC"))
    assert (hours.interval_spin.value(), hours.interval_unit_combo.currentText()) == (2, "hours")
    weekly = open_dialog(ScheduleTrigger.weekly(["sat", "sun"], "10:00", "Europe/Berlin"))
    assert [d for d, b in weekly.day_buttons.items() if b.isChecked()] == ["sat", "sun"]
    assert weekly.time_edit.time() == QTime(10, 0)
    cron = open_dialog(ScheduleTrigger.from_cron("*/20 8-17 * * mon-fri", "America/New_York"))
    assert cron.cron_edit.text() == "*/20 8-17 * * mon-fri"


def test_a_changed_initial_trigger_gives_the_change(qtbot: QtBot, open_dialog: OpenDialog) -> None:
    dialog = open_dialog(ScheduleTrigger.weekly(["sat", "sun"], "10:00", "Europe/Berlin"))
    _click(qtbot, dialog.day_buttons["sun"])
    assert dialog.trigger() == ScheduleTrigger.weekly(["sat"], "10:00", "Europe/Berlin")
    once = open_dialog(ScheduleTrigger(TriggerKind.ONCE, "Europe/Berlin", at="2026-12-01T08:45:30+00:00"))
    _type_time(qtbot, once, "10:00")
    assert once.trigger().once_time() == datetime(2026, 12, 1, 10, 0, tzinfo=BERLIN)


def test_a_one_off_that_already_ran_opens_with_the_reason_it_cannot_be_kept(open_dialog: OpenDialog) -> None:
    dialog = open_dialog(ScheduleTrigger(TriggerKind.ONCE, "Europe/Berlin", at="2026-11-01T09:00:00+01:00"))
    assert dialog.error_text() == "2026-11-01 09:00 is in the past; choose a later time"
    assert _chosen(dialog) == (QDate(2026, 11, 1), "09:00")


# -- missed runs, keys ----------------------------------------------------------------------


def test_the_grace_option_is_off_by_default_and_gives_minutes_in_seconds(
        qtbot: QtBot, open_dialog: OpenDialog) -> None:
    dialog = open_dialog()
    assert not dialog.grace_check.isChecked() and not dialog.grace_spin.isEnabled()
    assert dialog.grace_seconds() == 0
    _tick(qtbot, dialog.grace_check)
    assert dialog.grace_spin.isEnabled()
    assert dialog.grace_seconds() == 60 * 60
    dialog.grace_spin.selectAll()
    qtbot.keyClicks(dialog.grace_spin, "45")
    assert dialog.grace_seconds() == 45 * 60
    _tick(qtbot, dialog.grace_check)
    assert dialog.grace_seconds() == 0


def test_an_initial_grace_is_shown_and_kept(qtbot: QtBot, open_dialog: OpenDialog) -> None:
    dialog = open_dialog(grace_seconds=5400)
    assert dialog.grace_check.isChecked() and dialog.grace_spin.value() == 90
    assert dialog.grace_seconds() == 5400
    # Seconds from the command line ("90s") are shown rounded up and given back unchanged.
    odd = open_dialog(grace_seconds=90)
    assert odd.grace_spin.value() == 2 and odd.grace_seconds() == 90
    odd.grace_spin.selectAll()
    qtbot.keyClicks(odd.grace_spin, "5")
    assert odd.grace_seconds() == 300


def test_enter_accepts_and_escape_cancels(qtbot: QtBot, open_dialog: OpenDialog) -> None:
    dialog = open_dialog()
    _choose(dialog, TriggerKind.CRON)
    _type_cron(qtbot, dialog, "0 9 * * *")
    qtbot.keyClick(dialog.cron_edit, Qt.Key.Key_Return)
    assert dialog.result() == QDialog.DialogCode.Accepted and not dialog.isVisible()
    assert dialog.trigger() == ScheduleTrigger.from_cron("0 9 * * *", "Europe/Berlin")

    timed = open_dialog()
    timed.time_edit.setFocus()
    qtbot.keyClick(timed.time_edit, Qt.Key.Key_Enter)
    assert timed.result() == QDialog.DialogCode.Accepted

    cancelled = open_dialog()
    qtbot.keyClick(cancelled.time_edit, Qt.Key.Key_Escape)
    assert cancelled.result() == QDialog.DialogCode.Rejected and not cancelled.isVisible()


def test_enter_in_the_calendar_accepts_the_day_chosen(qtbot: QtBot, open_dialog: OpenDialog) -> None:
    dialog = open_dialog()
    view = dialog.calendar.findChild(QTableView)
    assert view is not None
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_Right)
    qtbot.keyClick(view, Qt.Key.Key_Return)
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert dialog.trigger().once_time() == datetime(2026, 11, 26, 15, 0, tzinfo=BERLIN)


def test_enter_on_a_day_button_accepts_rather_than_toggling_it(qtbot: QtBot, open_dialog: OpenDialog) -> None:
    dialog = open_dialog()
    _choose(dialog, TriggerKind.WEEKLY)
    dialog.day_buttons["fri"].setFocus()
    qtbot.keyClick(dialog.day_buttons["fri"], Qt.Key.Key_Return)
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert dialog.trigger() == ScheduleTrigger.weekly(["wed"], "15:00", "Europe/Berlin")
