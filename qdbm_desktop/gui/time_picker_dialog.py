"""The dialog that chooses when a saved job runs: once, at an interval, daily, weekly or by cron."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, available_timezones

from PySide6.QtCore import QDate, Qt, QTime, QTimer
from PySide6.QtGui import QResizeEvent, QShowEvent
from PySide6.QtWidgets import (
    QCalendarWidget,
    QCheckBox,
    QComboBox,
    QCompleter,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QStackedWidget,
    QTimeEdit,
    QVBoxLayout,
    QWidget,
)

from qdbm_desktop.core.errors import UsageError
from qdbm_desktop.core.triggers import DAYS, ScheduleTrigger, TriggerKind, local_zone_name, zone
from qdbm_desktop.gui.error_line import ErrorLine

KIND_LABELS = {
    TriggerKind.ONCE: "Once",
    TriggerKind.INTERVAL: "At an interval",
    TriggerKind.DAILY: "Daily",
    TriggerKind.WEEKLY: "Weekly",
    TriggerKind.CRON: "Cron expression",
}
DAY_LABELS = {day: day.capitalize() for day in DAYS}
NEXT_RUNS_SHOWN = 5
DEFAULT_GRACE_MINUTES = 60
TOMORROW_TIME = time(9, 0)
NO_PREVIEW = "—"
#: Units of the interval spin box: (label, seconds). Seconds are offered only for a trigger that needs them.
_UNITS = (("minutes", 60), ("hours", 3600))
_SECONDS_UNIT = ("seconds", 1)
# A checked push button is only a shade darker in most styles: too faint to tell which days run.
# Palette roles keep it readable on light and dark themes.
_DAY_BUTTON_STYLE = ("QPushButton:checked { background-color: palette(highlight);"
                     " color: palette(highlighted-text); border: 1px solid palette(highlight);"
                     " border-radius: 3px; padding: 3px 6px; }")
# The preview counts from "now": without a refresh a dialog left open would show runs already past.
_REFRESH_MS = 30_000


def offset_text(moment: datetime) -> str:
    """``UTC+01:00``, ``UTC−05:00`` or ``UTC+05:45``: the offset of an aware time."""
    offset = moment.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "−"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{rest:02d}"


def wall_time(day: date, clock: time, tz: ZoneInfo) -> tuple[datetime, str | None]:
    """The aware time that reads ``day clock`` on the wall in ``tz``, and a note when that is not plain.

    A time skipped by the spring change becomes the time it reads an hour later (02:30 becomes
    03:30 in Berlin), as the scheduler does for daily runs; a time repeated by the autumn change
    is its first occurrence.
    """
    naive = datetime.combine(day, clock.replace(second=0, microsecond=0))
    first = naive.replace(tzinfo=tz)
    actual = first.astimezone(timezone.utc).astimezone(tz)
    when_text = f"{naive:%H:%M} on {naive:%a %Y-%m-%d}"
    if actual.replace(tzinfo=None) != naive:
        return actual, (f"{when_text} does not exist in {tz.key} (the clocks go forward): "
                        f"it will run at {actual:%H:%M %Z}.")
    second = naive.replace(tzinfo=tz, fold=1)
    if second.utcoffset() != first.utcoffset():
        return actual, (f"{when_text} happens twice in {tz.key} (the clocks go back): "
                        f"it will run at the first, {actual:%H:%M %Z}.")
    return actual, None


def _floor_minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def _ceil_minute(moment: datetime) -> datetime:
    floored = _floor_minute(moment)
    return floored if floored == moment else floored + timedelta(minutes=1)


def _start_time(trigger: ScheduleTrigger) -> datetime:
    """An interval trigger's start; the epoch when it has none or an unreadable one."""
    try:
        return datetime.fromisoformat(trigger.start or "")
    except ValueError:
        return datetime.fromtimestamp(0, timezone.utc)


@dataclass(frozen=True)
class _Check:
    """What the form holds: a valid trigger, or the reason it is not and the field to fix."""

    trigger: ScheduleTrigger | None
    error: str | None = None
    field: QWidget | None = None
    note: str | None = None


class TimePickerDialog(QDialog):
    """Chooses a :class:`ScheduleTrigger` and how late a missed run may still start.

    The date and time fields, quick buttons and recurrence section are checked as they change:
    the trigger is described in words with its next fire times, or the reason it is not valid
    is shown beside the section, and OK does not accept until it is fixed. ``now`` gives the
    current aware time (tests pass their own clock).

    Signals: those of ``QDialog``.
    """

    def __init__(self, parent: QWidget | None = None, *, initial: ScheduleTrigger | None = None,
                 grace_seconds: int = 0, title: str = "Schedule",
                 now: Callable[[], datetime] | None = None) -> None:
        super().__init__(parent)
        self._now = now or (lambda: datetime.now(timezone.utc))
        self._initial = initial
        self._initial_grace = max(0, int(grace_seconds))
        self._local_zone = local_zone_name()
        self._accepted: ScheduleTrigger | None = None
        self._loading = True
        self._fire_times: list[datetime] = []
        self.setObjectName("timePickerDialog")
        self.setWindowTitle(title)
        self.setSizeGripEnabled(True)
        self._build()
        self.setMinimumWidth(720)
        self._load(initial)
        self._load_grace(self._initial_grace)
        self._loading = False
        self._connect()
        self._on_kind_combo_current_index_changed(self._kind_combo.currentIndex())
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setInterval(_REFRESH_MS)
        self._refresh_timer.timeout.connect(self._on_refresh_timer_timeout)
        self._refresh_timer.start()

    # -- public -----------------------------------------------------------------------------

    def trigger(self) -> ScheduleTrigger:
        """The trigger chosen; ``UsageError`` with the reason when the choice is not valid."""
        if self._accepted is not None:
            return self._accepted
        check = self._check()
        if check.trigger is None:
            raise UsageError(check.error or "the schedule is not complete")
        return check.trigger

    def grace_seconds(self) -> int:
        """How late a missed run may start when the app starts; 0 when the option is off."""
        if not self._grace_check.isChecked():
            return 0
        minutes = self._grace_spin.value()
        # An unchanged value gives back the seconds it came with (the command line takes "90s").
        if self._initial_grace and minutes == math.ceil(self._initial_grace / 60):
            return self._initial_grace
        return minutes * 60

    def kind(self) -> TriggerKind:
        return TriggerKind(self._kind_combo.currentData())

    def set_kind(self, kind: TriggerKind) -> None:
        self._kind_combo.setCurrentIndex(self._kind_combo.findData(kind.value))

    def zone_name(self) -> str:
        return self._zone_combo.currentText().strip()

    def error_text(self) -> str:
        """The reason the choice is not valid, as shown; empty when it is valid."""
        return self._error_line.text()

    def note_text(self) -> str:
        """The note about a time the clock change skips or repeats; empty when there is none."""
        return self._note.text() if not self._note.isHidden() else ""

    @property
    def shown_fire_times(self) -> list[datetime]:
        """The fire times listed under "Next runs" (empty while the choice is not valid)."""
        return list(self._fire_times)

    @property
    def kind_combo(self) -> QComboBox:
        return self._kind_combo

    @property
    def calendar(self) -> QCalendarWidget:
        return self._calendar

    @property
    def time_edit(self) -> QTimeEdit:
        return self._time_edit

    @property
    def zone_combo(self) -> QComboBox:
        return self._zone_combo

    @property
    def zone_label(self) -> QLabel:
        """The chosen zone's current UTC offset, and the computer's own zone."""
        return self._zone_label

    @property
    def now_button(self) -> QPushButton:
        return self._quick_buttons["now"]

    @property
    def plus_15_button(self) -> QPushButton:
        return self._quick_buttons["+15"]

    @property
    def plus_30_button(self) -> QPushButton:
        return self._quick_buttons["+30"]

    @property
    def plus_hour_button(self) -> QPushButton:
        return self._quick_buttons["+60"]

    @property
    def tomorrow_button(self) -> QPushButton:
        return self._quick_buttons["tomorrow"]

    @property
    def interval_spin(self) -> QSpinBox:
        return self._interval_spin

    @property
    def interval_unit_combo(self) -> QComboBox:
        return self._interval_unit_combo

    @property
    def day_buttons(self) -> dict[str, QPushButton]:
        """The weekly day toggles by day (``mon`` .. ``sun``)."""
        return dict(self._day_buttons)

    @property
    def cron_edit(self) -> QLineEdit:
        return self._cron_edit

    @property
    def message_label(self) -> QLabel:
        return self._error

    @property
    def description_label(self) -> QLabel:
        return self._description

    @property
    def next_runs_label(self) -> QLabel:
        return self._next_runs

    @property
    def grace_check(self) -> QCheckBox:
        return self._grace_check

    @property
    def grace_spin(self) -> QSpinBox:
        return self._grace_spin

    @property
    def ok_button(self) -> QPushButton:
        return self._ok_button

    @property
    def cancel_button(self) -> QPushButton:
        return self._cancel_button

    # -- building ---------------------------------------------------------------------------

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setSpacing(10)
        layout.addLayout(self._build_kind_row())
        middle = QHBoxLayout()
        middle.setSpacing(16)
        self._calendar = QCalendarWidget(self)
        self._calendar.setObjectName("calendar")
        self._calendar.setVerticalHeaderFormat(QCalendarWidget.VerticalHeaderFormat.NoVerticalHeader)
        self._calendar.setGridVisible(False)
        middle.addWidget(self._calendar, 0, Qt.AlignmentFlag.AlignTop)
        side = QVBoxLayout()
        side.setSpacing(8)
        side.addLayout(self._build_time_form())
        side.addLayout(self._build_quick_buttons())
        side.addWidget(self._build_recurrence_stack())
        self._error_line = ErrorLine(self)
        self._error = self._error_line.label
        self._note = QLabel(self)
        self._note.setObjectName("timeNote")
        self._note.setWordWrap(True)
        self._note.setTextFormat(Qt.TextFormat.PlainText)
        self._note.setVisible(False)
        side.addStretch(1)
        middle.addLayout(side, 1)
        layout.addLayout(middle)
        # Full width under the section rather than in its column: a message wrapped in a column
        # of a row is given too little height and squeezes the fields above it.
        layout.addWidget(self._error_line)
        layout.addWidget(self._note)
        layout.addWidget(self._build_preview())
        layout.addLayout(self._build_grace_rows())
        layout.addWidget(self._build_buttons())

    def _build_kind_row(self) -> QHBoxLayout:
        kind_row = QHBoxLayout()
        kind_label = QLabel("&Repeat:", self)
        self._kind_combo = QComboBox(self)
        self._kind_combo.setObjectName("kindCombo")
        for kind, label in KIND_LABELS.items():
            self._kind_combo.addItem(label, kind.value)
        kind_label.setBuddy(self._kind_combo)
        kind_row.addWidget(kind_label)
        kind_row.addWidget(self._kind_combo)
        kind_row.addStretch(1)
        return kind_row

    def _build_time_form(self) -> QFormLayout:
        """The time of day, the time zone and its offset now."""
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self._time_edit = QTimeEdit(self)
        self._time_edit.setObjectName("timeEdit")
        self._time_edit.setDisplayFormat("HH:mm")
        self._time_edit.setWrapping(True)
        time_row = QHBoxLayout()
        time_row.addWidget(self._time_edit)
        time_row.addStretch(1)
        form.addRow("&Time:", time_row)
        time_label = form.labelForField(time_row)
        if isinstance(time_label, QLabel):
            time_label.setBuddy(self._time_edit)

        self._zone_combo = QComboBox(self)
        self._zone_combo.setObjectName("zoneCombo")
        self._zone_combo.setEditable(True)
        self._zone_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self._zone_combo.addItems(sorted(available_timezones() | {self._local_zone}))
        completer = self._zone_combo.completer()
        if completer is not None:
            completer.setFilterMode(Qt.MatchFlag.MatchContains)
            completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
            completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        form.addRow("Time &zone:", self._zone_combo)
        zone_label = form.labelForField(self._zone_combo)
        if isinstance(zone_label, QLabel):
            zone_label.setBuddy(self._zone_combo)
        self._zone_label = QLabel(self)
        self._zone_label.setObjectName("zoneOffsetLabel")
        self._zone_label.setTextFormat(Qt.TextFormat.PlainText)
        form.addRow("", self._zone_label)
        return form

    def _build_quick_buttons(self) -> QGridLayout:
        quick = QGridLayout()
        quick.setSpacing(6)
        self._quick_buttons: dict[str, QPushButton] = {}
        for position, (key, label, tip) in enumerate((
                ("now", "&Now", "One minute from now, so it has not passed by the time you press OK"),
                ("+15", "+&15 min", "15 minutes from now"),
                ("+30", "+&30 min", "30 minutes from now"),
                ("+60", "+1 &hour", "An hour from now"),
                ("tomorrow", "T&omorrow 09:00", "Tomorrow at 09:00"))):
            button = QPushButton(label, self)
            button.setObjectName(f"quick_{key}")
            button.setToolTip(tip)
            # Enter anywhere in the dialog means OK, not the quick button that has focus.
            button.setAutoDefault(False)
            self._quick_buttons[key] = button
            if key == "tomorrow":
                quick.addWidget(button, 1, 1, 1, 2)
            else:
                quick.addWidget(button, position // 3, position % 3)
        return quick

    def _build_recurrence_stack(self) -> QStackedWidget:
        """One page per kind of repeat: what it does, and its own settings."""
        self._stack = QStackedWidget(self)
        self._stack.setObjectName("recurrenceStack")
        self._pages: dict[TriggerKind, QWidget] = {}
        self._pages[TriggerKind.ONCE] = self._text_page(
            "Runs once, on the day chosen in the calendar at the time above.")
        self._pages[TriggerKind.INTERVAL] = self._interval_page()
        self._pages[TriggerKind.DAILY] = self._text_page(
            "Runs every day at the time above; the calendar is not used.")
        self._pages[TriggerKind.WEEKLY] = self._weekly_page()
        self._pages[TriggerKind.CRON] = self._cron_page()
        for page in self._pages.values():
            self._stack.addWidget(page)
        return self._stack

    def _build_preview(self) -> QGroupBox:
        """What the choice means in words, and its next fire times."""
        preview = QGroupBox("Preview", self)
        preview_form = QFormLayout(preview)
        preview_form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        self._description = QLabel(NO_PREVIEW, preview)
        self._description.setObjectName("triggerDescription")
        self._description.setWordWrap(True)
        self._description.setTextFormat(Qt.TextFormat.PlainText)
        self._description.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        preview_form.addRow("When:", self._description)
        self._next_runs = QLabel(NO_PREVIEW, preview)
        self._next_runs.setObjectName("nextRuns")
        self._next_runs.setTextFormat(Qt.TextFormat.PlainText)
        self._next_runs.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # Room for five lines from the start, so the dialog does not grow when a choice becomes valid.
        self._next_runs.setMinimumHeight(self.fontMetrics().lineSpacing() * NEXT_RUNS_SHOWN)
        self._next_runs.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        preview_form.addRow("Next runs:", self._next_runs)
        return preview

    def _build_grace_rows(self) -> QGridLayout:
        """Whether a run missed while the app was closed still runs at start, and how late."""
        grace = QGridLayout()
        grace.setHorizontalSpacing(6)
        grace.setVerticalSpacing(2)
        self._grace_check = QCheckBox(
            "If QDBM Desktop was not running at the time, run it at &start", self)
        self._grace_check.setObjectName("graceCheck")
        grace.addWidget(self._grace_check, 0, 0, 1, 4)
        indent = self._grace_check.style().pixelMetric(
            self._grace_check.style().PixelMetric.PM_IndicatorWidth) + 6
        lead = QLabel("when it is less than", self)
        lead.setContentsMargins(indent, 0, 0, 0)
        grace.addWidget(lead, 1, 0)
        self._grace_spin = QSpinBox(self)
        self._grace_spin.setObjectName("graceSpin")
        self._grace_spin.setRange(1, 7 * 24 * 60)
        self._grace_spin.setValue(DEFAULT_GRACE_MINUTES)
        lead.setBuddy(self._grace_spin)
        grace.addWidget(self._grace_spin, 1, 1)
        grace.addWidget(QLabel("minutes late", self), 1, 2)
        grace.setColumnStretch(3, 1)
        return grace

    def _build_buttons(self) -> QDialogButtonBox:
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel, self)
        ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        cancel_button = buttons.button(QDialogButtonBox.StandardButton.Cancel)
        assert ok_button is not None and cancel_button is not None
        self._ok_button = ok_button
        self._cancel_button = cancel_button
        self._ok_button.setDefault(True)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        return buttons

    def _text_page(self, text: str) -> QWidget:
        page = QWidget(self)
        page_layout = QVBoxLayout(page)
        page_layout.setContentsMargins(0, 0, 0, 0)
        label = QLabel(text, page)
        label.setWordWrap(True)
        page_layout.addWidget(label)
        page_layout.addStretch(1)
        return page

    def _interval_page(self) -> QWidget:
        page = QWidget(self)
        page_layout = QVBoxLayout(page)
        page_layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        every = QLabel("&Every", page)
        self._interval_spin = QSpinBox(page)
        self._interval_spin.setObjectName("intervalSpin")
        # 0 is allowed so that a too-short interval is said in words rather than silently refused.
        self._interval_spin.setRange(0, 99_999)
        self._interval_spin.setValue(30)
        every.setBuddy(self._interval_spin)
        self._interval_unit_combo = QComboBox(page)
        self._interval_unit_combo.setObjectName("intervalUnitCombo")
        for label, seconds in _UNITS:
            self._interval_unit_combo.addItem(label, seconds)
        row.addWidget(every)
        row.addWidget(self._interval_spin)
        row.addWidget(self._interval_unit_combo)
        row.addStretch(1)
        page_layout.addLayout(row)
        note = QLabel("Counted from the day in the calendar at the time above: the first run then, "
                      "or the next one in step with it when that has passed.", page)
        note.setWordWrap(True)
        page_layout.addWidget(note)
        page_layout.addStretch(1)
        return page

    def _weekly_page(self) -> QWidget:
        page = QWidget(self)
        page_layout = QVBoxLayout(page)
        page_layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.setSpacing(3)
        self._day_buttons: dict[str, QPushButton] = {}
        for day in DAYS:
            button = QPushButton(DAY_LABELS[day], page)
            button.setObjectName(f"day_{day}")
            button.setCheckable(True)
            button.setAutoDefault(False)
            # Sized before the style sheet, which sizes a checked button smaller than the others.
            hint = button.sizeHint()
            button.setMinimumSize(self.fontMetrics().horizontalAdvance("Wed") + 18, hint.height())
            button.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
            button.setStyleSheet(_DAY_BUTTON_STYLE)
            self._day_buttons[day] = button
            row.addWidget(button, 1)
        page_layout.addLayout(row)
        label = QLabel("Runs on the days chosen at the time above; the calendar is not used.", page)
        label.setWordWrap(True)
        page_layout.addWidget(label)
        page_layout.addStretch(1)
        return page

    def _cron_page(self) -> QWidget:
        page = QWidget(self)
        page_layout = QVBoxLayout(page)
        page_layout.setContentsMargins(0, 0, 0, 0)
        self._cron_edit = QLineEdit(page)
        self._cron_edit.setObjectName("cronEdit")
        self._cron_edit.setPlaceholderText("e.g. 30 6 * * 1-5")
        row = QHBoxLayout()
        label = QLabel("E&xpression:", page)
        label.setBuddy(self._cron_edit)
        row.addWidget(label)
        row.addWidget(self._cron_edit, 1)
        page_layout.addLayout(row)
        hint = QLabel("Five fields: minute hour day month weekday (0 or 7 is Sunday), in the time "
                      "zone above; the calendar and time are not used.", page)
        hint.setWordWrap(True)
        page_layout.addWidget(hint)
        page_layout.addStretch(1)
        return page

    def _connect(self) -> None:
        self._kind_combo.currentIndexChanged.connect(self._on_kind_combo_current_index_changed)
        self._calendar.selectionChanged.connect(self._on_field_changed)
        # Enter or a double click on a day in the calendar is a choice made: the same as OK.
        self._calendar.activated.connect(self._on_calendar_activated)
        self._time_edit.timeChanged.connect(self._on_field_changed)
        self._zone_combo.currentTextChanged.connect(self._on_field_changed)
        self._interval_spin.valueChanged.connect(self._on_field_changed)
        self._interval_unit_combo.currentIndexChanged.connect(self._on_field_changed)
        self._cron_edit.textChanged.connect(self._on_field_changed)
        for button in self._day_buttons.values():
            button.toggled.connect(self._on_field_changed)
        self._quick_buttons["now"].clicked.connect(self._on_now_button_clicked)
        self._quick_buttons["+15"].clicked.connect(self._on_plus_15_button_clicked)
        self._quick_buttons["+30"].clicked.connect(self._on_plus_30_button_clicked)
        self._quick_buttons["+60"].clicked.connect(self._on_plus_hour_button_clicked)
        self._quick_buttons["tomorrow"].clicked.connect(self._on_tomorrow_button_clicked)
        self._grace_check.toggled.connect(self._on_grace_check_toggled)

    # -- loading ----------------------------------------------------------------------------

    def _load(self, initial: ScheduleTrigger | None) -> None:
        zone_name = initial.timezone if initial is not None else self._local_zone
        if self._zone_combo.findText(zone_name) < 0:
            self._zone_combo.addItem(zone_name)
        # The index too, not only the text, so the open list starts at the zone shown.
        self._zone_combo.setCurrentIndex(self._zone_combo.findText(zone_name))
        now = self._now()
        try:
            tz = zone(zone_name)
        except UsageError:
            tz = ZoneInfo("UTC")
        # A new one-off defaults to the next whole hour, at least ten minutes away.
        start = now.astimezone(tz).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        if start - now < timedelta(minutes=10):
            start += timedelta(hours=1)
        self._set_when(start)
        days: tuple[str, ...] = (DAYS[start.weekday()],)
        if initial is not None:
            self.set_kind(initial.kind)
            if initial.kind is TriggerKind.ONCE:
                with contextlib.suppress(UsageError):
                    self._set_when(initial.once_time().astimezone(tz))
            elif initial.kind is TriggerKind.INTERVAL:
                self._load_interval(int(initial.every_seconds or 0))
                if initial.start:
                    start = _start_time(initial)
                    if start.tzinfo is not None:
                        self._set_when(start.astimezone(tz))
            elif initial.kind in (TriggerKind.DAILY, TriggerKind.WEEKLY):
                parsed = QTime.fromString(initial.time or "", "HH:mm")
                if parsed.isValid():
                    self._time_edit.setTime(parsed)
                if initial.kind is TriggerKind.WEEKLY:
                    days = initial.days
            elif initial.kind is TriggerKind.CRON:
                self._cron_edit.setText(initial.cron or "")
        for day, button in self._day_buttons.items():
            button.setChecked(day in days)

    def _load_interval(self, seconds: int) -> None:
        if seconds and seconds % 3600 == 0:
            unit = 3600
        elif seconds % 60 == 0:
            unit = 60
        else:
            self._interval_unit_combo.addItem(*_SECONDS_UNIT)
            unit = 1
        self._interval_unit_combo.setCurrentIndex(self._interval_unit_combo.findData(unit))
        self._interval_spin.setMaximum(max(self._interval_spin.maximum(), seconds // unit))
        self._interval_spin.setValue(seconds // unit)

    def _load_grace(self, seconds: int) -> None:
        self._grace_check.setChecked(seconds > 0)
        if seconds > 0:
            minutes = math.ceil(seconds / 60)
            self._grace_spin.setMaximum(max(self._grace_spin.maximum(), minutes))
            self._grace_spin.setValue(minutes)
        self._grace_spin.setEnabled(seconds > 0)

    # -- checking ---------------------------------------------------------------------------

    def _check(self) -> _Check:
        now = self._now()
        zone_name = self.zone_name()
        try:
            tz = zone(zone_name)
        except UsageError as exc:
            return _Check(None, str(exc), self._zone_combo)
        kind = self.kind()
        field: QWidget
        note: str | None = None
        try:
            if kind is TriggerKind.ONCE:
                field = self._time_edit
                when, note = self._chosen_time(tz)
                trigger = ScheduleTrigger.once(when, zone_name)
            elif kind is TriggerKind.INTERVAL:
                field = self._interval_spin
                seconds = self._interval_spin.value() * int(self._interval_unit_combo.currentData())
                start, note = self._chosen_time(tz)
                trigger = ScheduleTrigger.interval(seconds, zone_name, start=start)
            elif kind is TriggerKind.DAILY:
                field = self._time_edit
                trigger = ScheduleTrigger.daily(self._time_text(), zone_name)
            elif kind is TriggerKind.WEEKLY:
                field = self._day_buttons[DAYS[0]]
                days = [day for day, button in self._day_buttons.items() if button.isChecked()]
                trigger = ScheduleTrigger.weekly(days, self._time_text(), zone_name)
            else:
                field = self._cron_edit
                if not self._cron_edit.text().strip():
                    raise UsageError("enter a cron expression: minute hour day month weekday")
                trigger = ScheduleTrigger.from_cron(self._cron_edit.text(), zone_name)
            trigger.validate(now)
        except UsageError as exc:
            return _Check(None, str(exc), field, note)
        return _Check(self._as_initial(trigger), None, None, note)

    def _as_initial(self, trigger: ScheduleTrigger) -> ScheduleTrigger:
        """The initial trigger when ``trigger`` means the same, so an unchanged edit changes nothing."""
        initial = self._initial
        if initial is None or initial.kind is not trigger.kind or initial.timezone != trigger.timezone:
            return trigger
        if trigger.kind is TriggerKind.ONCE:
            try:
                same = _floor_minute(initial.once_time()) == trigger.once_time()
            except UsageError:
                same = False
        elif trigger.kind is TriggerKind.INTERVAL:
            # The fields hold whole minutes: a start with seconds is the same start.
            same = (initial.every_seconds == trigger.every_seconds
                    and _floor_minute(_start_time(initial)) == _start_time(trigger))
        elif trigger.kind is TriggerKind.CRON:
            same = (initial.cron or "").split() == (trigger.cron or "").split()
        else:
            same = initial == trigger
        return initial if same else trigger

    def _chosen_time(self, tz: ZoneInfo) -> tuple[datetime, str | None]:
        day, clock = self._calendar.selectedDate(), self._time_edit.time()
        return wall_time(date(day.year(), day.month(), day.day()), time(clock.hour(), clock.minute()), tz)

    def _time_text(self) -> str:
        return self._time_edit.time().toString("HH:mm")

    # -- showing ----------------------------------------------------------------------------

    def _refresh(self) -> _Check:
        self._accepted = None
        self._show_zone()
        check = self._check()
        self._error_line.set_message(check.error)
        self._note.setText(check.note or "")
        self._note.setVisible(bool(check.note))
        if check.trigger is None:
            self._fire_times = []
            self._description.setText(NO_PREVIEW)
            self._next_runs.setText(NO_PREVIEW)
        else:
            words = check.trigger.describe()
            self._description.setText(words[0].upper() + words[1:])
            self._fire_times = check.trigger.next_fire_times(self._now(), NEXT_RUNS_SHOWN)
            self._next_runs.setText("\n".join(self._fire_time_text(t) for t in self._fire_times)
                                    or "none: it has run")
        self._fit_height()
        return check

    def _fire_time_text(self, moment: datetime) -> str:
        tz = zone(self.zone_name())
        shown = moment.astimezone(tz)
        text = f"{shown:%a %Y-%m-%d %H:%M %Z}"
        if tz.key != self._local_zone:
            try:
                here = moment.astimezone(zone(self._local_zone))
            except UsageError:
                return text
            text += f"   ({here:%a %H:%M} here)"
        return text

    def _show_zone(self) -> None:
        now = self._now()
        try:
            tz = zone(self.zone_name())
        except UsageError:
            self._zone_label.setText(f"This computer: {self._local_zone}")
            return
        offset = offset_text(now.astimezone(tz))
        if tz.key == self._local_zone:
            self._zone_label.setText(f"{offset} now · this computer's time zone")
            return
        try:
            local_offset = offset_text(now.astimezone(zone(self._local_zone)))
        except UsageError:
            local_offset = "?"
        self._zone_label.setText(f"{offset} now · this computer: {self._local_zone} ({local_offset})")

    def _show_kind(self) -> None:
        kind = self.kind()
        self._stack.setCurrentWidget(self._pages[kind])
        # The fields a kind does not use are greyed out, and its page says what it uses.
        self._calendar.setEnabled(kind in (TriggerKind.ONCE, TriggerKind.INTERVAL))
        uses_time = kind is not TriggerKind.CRON
        self._time_edit.setEnabled(uses_time)
        for button in self._quick_buttons.values():
            button.setEnabled(uses_time)

    def _set_when(self, moment: datetime) -> None:
        """Show ``moment`` (aware, in the chosen zone) in the calendar and the time field."""
        self._calendar.setSelectedDate(QDate(moment.year, moment.month, moment.day))
        self._time_edit.setTime(QTime(moment.hour, moment.minute))

    def _now_in_zone(self) -> datetime:
        try:
            tz = zone(self.zone_name())
        except UsageError:
            tz = ZoneInfo("UTC")
        return self._now().astimezone(tz)

    def _fit_height(self) -> None:
        # Wrapped messages need more height at a narrower width, which a window's minimum size
        # does not account for: without this the rows would overlap.
        layout = self.layout()
        if layout is None:
            return
        layout.activate()
        # The row of calendar and fields holds wrapped labels too, which the height-for-width
        # sum underestimates; the size hint covers them.
        needed = max(layout.totalHeightForWidth(self.width()), layout.totalSizeHint().height())
        if needed > 0 and needed != self.minimumHeight():
            self.setMinimumHeight(needed)
            if self.height() < needed:
                self.resize(self.width(), needed)

    # -- slots ------------------------------------------------------------------------------

    def _on_kind_combo_current_index_changed(self, _index: int) -> None:
        self._show_kind()
        self._refresh()

    def _on_field_changed(self, *_args: object) -> None:
        if not self._loading:
            self._refresh()

    def _on_calendar_activated(self, _day: QDate) -> None:
        self.accept()

    def _on_now_button_clicked(self) -> None:
        # One minute ahead, so the time has not passed by the time OK is pressed.
        self._set_when(_ceil_minute(self._now_in_zone() + timedelta(minutes=1)))

    def _on_plus_15_button_clicked(self) -> None:
        self._set_when(_floor_minute(self._now_in_zone()) + timedelta(minutes=15))

    def _on_plus_30_button_clicked(self) -> None:
        self._set_when(_floor_minute(self._now_in_zone()) + timedelta(minutes=30))

    def _on_plus_hour_button_clicked(self) -> None:
        self._set_when(_floor_minute(self._now_in_zone()) + timedelta(hours=1))

    def _on_tomorrow_button_clicked(self) -> None:
        now = self._now_in_zone()
        tomorrow = now.date() + timedelta(days=1)
        self._set_when(datetime.combine(tomorrow, TOMORROW_TIME, now.tzinfo))

    def _on_grace_check_toggled(self, checked: bool) -> None:
        self._grace_spin.setEnabled(checked)

    def _on_refresh_timer_timeout(self) -> None:
        if self.isVisible():
            self._refresh()

    # -- QDialog ----------------------------------------------------------------------------

    def accept(self) -> None:
        check = self._refresh()
        if check.trigger is None:
            if check.field is not None:
                check.field.setFocus(Qt.FocusReason.OtherFocusReason)
            return
        self._accepted = check.trigger
        super().accept()

    def done(self, result: int) -> None:
        self._refresh_timer.stop()
        super().done(result)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._fit_height()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            self._fit_height()
