"""The cart model: one row per slot (empty slots too), fed by engine events, repainted coalesced."""

from __future__ import annotations

import collections
import datetime as dt
import enum
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QByteArray,
    QCoreApplication,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)

from station.jobs.events import EventType, JobEvent, JobState
from station.ui.backend import CartLayout
from station.ui.texts import EMPTY, detail_text, hint_text, platform_word, state_word, step_label

FLUSH_MS = 100  # at most ten repaints a second, however many devices report progress
LOG_LINES = 300

_CONTEXT = "CartModel"


def _t(text: str) -> str:
    return QCoreApplication.translate(_CONTEXT, text)


class Role(enum.IntEnum):
    SLOT = Qt.ItemDataRole.UserRole + 1
    JOB = enum.auto()
    STATE = enum.auto()
    PLATFORM = enum.auto()
    TITLE = enum.auto()  # asset tag, name or serial
    STEP = enum.auto()  # in words
    FRACTION = enum.auto()  # float 0..1 or None
    ACTION = enum.auto()  # what a person should do, in words ("" when nothing)
    DETAIL = enum.auto()
    PRESENT = enum.auto()


ROLES = [int(r) for r in Role] + [
    int(Qt.ItemDataRole.DisplayRole),
    int(Qt.ItemDataRole.ToolTipRole),
]

# The engine's gate steps (``ios_steps.Pair``, ``android_steps.WaitReady``): an iPad is paired
# (Trust tapped) and an Android tablet allows USB debugging once its job went past them.
GATE_STEPS = frozenset({"pair", "ready"})

_PERSON_PRESENCE = frozenset(
    {
        "needs_trust",
        "trust_denied",
        "locked",
        "unauthorized",
        "usb_debugging_off",
        "recovery",
        "bootloader",
        "no_permission",
        "not_visible",
    }
)


def _when(ts: str) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(ts)
    except ValueError:
        return None


@dataclass
class StepEntry:
    """One step in a device's timeline."""

    step: str
    status: str
    started: dt.datetime | None
    ended: dt.datetime | None = None
    detail: str = ""

    @property
    def seconds(self) -> float | None:
        if self.started is None or self.ended is None:
            return None
        return (self.ended - self.started).total_seconds()


@dataclass
class SlotState:
    """What the window knows about one slot and the tablet in it."""

    slot: int  # 0: a tablet whose port is not calibrated to a slot
    job: str = ""
    platform: str = ""
    serial: str = ""
    port: str = ""
    asset_tag: str = ""
    state: str = EMPTY
    step: str = ""
    detail: str = ""
    hint: str = ""
    presence: str = ""
    present: bool = False
    passed_gate: bool = False  # went past pairing / USB debugging at least once
    fraction: float | None = None
    timeline: list[StepEntry] = field(default_factory=list)
    log: collections.deque[JobEvent] = field(
        default_factory=lambda: collections.deque(maxlen=LOG_LINES)
    )

    @property
    def title(self) -> str:
        return self.asset_tag or self.serial or self.job

    @property
    def needs_person(self) -> bool:
        if self.state == JobState.NEEDS_PERSON:
            return True
        return (
            self.state in (JobState.WAITING, JobState.RUNNING) and self.presence in _PERSON_PRESENCE
        )

    @property
    def action(self) -> str:
        """What a person should do here, in words."""
        if self.state in (JobState.NEEDS_PERSON, JobState.PAUSED, JobState.FAILED) or (
            self.needs_person
        ):
            return hint_text(self.hint)
        return ""

    def summary(self) -> dict[str, Any]:
        return {
            "job": self.job,
            "slot": self.slot or None,
            "platform": self.platform,
            "serial": self.serial,
            "asset_tag": self.asset_tag,
            "state": self.state,
            "port": self.port,
        }


class CartModel(QAbstractListModel):
    """Slots 1..N in cart order, then tablets not tied to a slot.

    Signals:
        refreshed(): rows were repainted (after coalescing); panels recount then.
        state_changed(int, str, str): a row's state changed (row, old, new), at once.
        run_event(object): a RUN event (started, finished, ...).
        station_problem(str, str): a driver reported trouble (detail, hint), e.g. no usbmuxd.
    """

    refreshed = Signal()
    state_changed = Signal(int, str, str)
    run_event = Signal(object)
    station_problem = Signal(str, str)

    def __init__(self, layout: CartLayout, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.layout = layout
        self._rows = [SlotState(slot=n) for n in range(1, layout.slots + 1)]
        self._by_job: dict[str, int] = {}
        self._dirty: set[int] = set()
        self._flush_timer = QTimer(self)
        self._flush_timer.setObjectName("cart-model-flush")
        self._flush_timer.setSingleShot(True)
        self._flush_timer.setInterval(FLUSH_MS)
        self._flush_timer.timeout.connect(self._on_flush_timer)

    # --- Qt model -------------------------------------------------------------------------

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex | None = None) -> int:
        if parent is not None and parent.isValid():
            return 0
        return len(self._rows)

    def roleNames(self) -> dict[int, QByteArray]:
        names = super().roleNames()
        names.update({int(r): QByteArray(r.name.lower().encode()) for r in Role})
        return names

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = 0) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        s = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            parts = [self.slot_text(s), state_word(s.state)]
            if s.job:
                parts.insert(1, f"{platform_word(s.platform)} {s.title}")
            return " · ".join(parts)
        if role == Qt.ItemDataRole.ToolTipRole:
            return s.action or detail_text(s.detail) or None
        values: dict[int, Any] = {
            Role.SLOT: s.slot,
            Role.JOB: s.job,
            Role.STATE: s.state,
            Role.PLATFORM: s.platform,
            Role.TITLE: s.title,
            Role.STEP: step_label(s.step),
            Role.FRACTION: s.fraction,
            Role.ACTION: s.action,
            Role.DETAIL: detail_text(s.detail),
            Role.PRESENT: s.present,
        }
        return values.get(role)

    # --- reading --------------------------------------------------------------------------

    def slot_text(self, s: SlotState) -> str:
        return _t("Slot %1").replace("%1", str(s.slot)) if s.slot else _t("No slot")

    def slot_state(self, row: int) -> SlotState:
        return self._rows[row]

    def slots(self) -> list[SlotState]:
        return list(self._rows)

    def row_of(self, job: str) -> int | None:
        return self._by_job.get(job)

    def occupied(self) -> list[SlotState]:
        return [s for s in self._rows if s.job]

    # --- events (GUI thread, from the bridge) ---------------------------------------------

    def apply(self, events: list[JobEvent]) -> None:
        """Take a batch of engine events: one dataChanged over the rows they changed.

        The bridge already coalesces (progress ten times a second, state changes within
        50 ms), so a batch with a state change is shown at once; a batch of progress alone
        waits for the named timer, which also bounds what direct callers cause.
        """
        urgent = False
        for event in events:
            self._apply(event)
            urgent = urgent or event.type is not EventType.PROGRESS
        if not self._dirty:
            return
        if urgent:
            self.flush()
        elif not self._flush_timer.isActive():
            self._flush_timer.start()

    def flush(self) -> None:
        """Repaint the changed rows now, as one dataChanged(first, last)."""
        self._flush_timer.stop()
        self._on_flush_timer()

    def _on_flush_timer(self) -> None:
        if not self._dirty:
            return
        first, last = min(self._dirty), max(self._dirty)
        self._dirty.clear()
        self.dataChanged.emit(self.index(first), self.index(last), ROLES)
        self.refreshed.emit()

    def _apply(self, event: JobEvent) -> None:
        if event.type is EventType.RUN:
            self.run_event.emit(event)
            return
        if not event.job:
            if event.type is EventType.DEVICE and event.state == "error":
                self.station_problem.emit(event.detail, event.hint)
            elif event.type is EventType.DEVICE:
                self._on_watched(event)
            return
        row = self._place(event)
        s = self._rows[row]
        s.platform = event.platform or s.platform
        s.serial = event.serial or s.serial
        s.port = event.port or s.port
        if event.type is EventType.DEVICE:
            s.present = event.state != "detached"
            s.presence = event.detail if s.present else ""
            if s.present and event.hint and s.state in (EMPTY, JobState.WAITING):
                s.hint = event.hint
            if s.state == EMPTY:
                self._set_state(row, JobState.WAITING)
        elif event.type is EventType.JOB:
            self._passed(s, event)
            if event.state != JobState.RUNNING or event.step != s.step:
                s.fraction = None
            s.step = event.step
            s.detail = event.detail
            s.hint = event.hint
            s.asset_tag = str(event.data.get("asset_tag", s.asset_tag))
            self._set_state(row, event.state)
        elif event.type is EventType.STEP:
            self._passed(s, event)
            self._on_step(s, event)
        elif event.type is EventType.PROGRESS and event.fraction is not None:
            s.fraction = max(0.0, min(1.0, event.fraction))
            if event.step:
                s.step = event.step
            return  # progress is not worth a log line; it is marked dirty in _place
        s.log.append(event)

    @staticmethod
    def _passed(s: SlotState, event: JobEvent) -> None:
        if event.state == JobState.DONE or (event.step and event.step not in GATE_STEPS):
            s.passed_gate = True

    def _on_watched(self, event: JobEvent) -> None:
        """A tablet plugged or unplugged while no run watches it (after the run): its row."""
        key = f"{event.platform}:{event.serial}"
        rows = [
            row
            for row, s in enumerate(self._rows)
            if s.job and (s.job == key or s.job.startswith(key + "@"))
        ]
        port = (event.port or "").removeprefix("usb:")
        if len(rows) > 1 and port:  # equal Android serials: the port tells them apart
            rows = [row for row in rows if self._rows[row].port.removeprefix("usb:") == port]
        for row in rows:
            s = self._rows[row]
            s.present = event.state != "detached"
            s.presence = event.detail if s.present else ""
            self._dirty.add(row)

    def _place(self, event: JobEvent) -> int:
        """The row for this event's job, moving it when the tablet changed slot."""
        key = event.job
        current = self._by_job.get(key)
        target: int | None = None
        if event.slot is not None and 1 <= event.slot <= self.layout.slots:
            target = event.slot - 1
        if current is not None and (target is None or target == current):
            self._dirty.add(current)
            return current
        if target is None:
            # Not calibrated: a row after the cart's slots.
            row = len(self._rows)
            self.beginInsertRows(QModelIndex(), row, row)
            self._rows.append(SlotState(slot=0, job=key))
            self.endInsertRows()
            self._by_job[key] = row
            self._dirty.add(row)
            return row
        moved = SlotState(slot=target + 1, job=key)
        if current is not None:
            old = self._rows[current]
            moved = SlotState(**{**old.__dict__, "slot": target + 1})
            if current < self.layout.slots:
                self._rows[current] = SlotState(slot=current + 1)
                self._dirty.add(current)
                self.state_changed.emit(current, old.state, EMPTY)
            # (a moved unplaced row keeps its place, now empty of a job: rows never vanish)
            else:
                self._rows[current] = SlotState(slot=0)
        displaced = self._rows[target]
        if displaced.job and displaced.job != key:
            self._by_job.pop(displaced.job, None)
        self._rows[target] = moved
        self._by_job[key] = target
        self._dirty.add(target)
        return target

    def _set_state(self, row: int, state: str) -> None:
        s = self._rows[row]
        old, s.state = s.state, state
        if old != state:
            self.state_changed.emit(row, old, state)

    def _on_step(self, s: SlotState, event: JobEvent) -> None:
        when = _when(event.ts)
        open_entry = next(
            (e for e in reversed(s.timeline) if e.step == event.step and e.ended is None), None
        )
        if event.state == "running":
            s.timeline.append(StepEntry(event.step, "running", when))
            return
        if open_entry is None:
            s.timeline.append(StepEntry(event.step, event.state, when, when, event.detail))
            return
        open_entry.status = event.state
        open_entry.ended = when
        open_entry.detail = event.detail
