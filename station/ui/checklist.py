"""The helper's checklist for the chosen blueprint, ticked off by itself from device states."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QWidget

from station.jobs.events import JobState
from station.ui.models import SlotState
from station.ui.texts import EMPTY, hint_text

_CONTEXT = "Checklist"

_TRUST = frozenset({"needs_trust", "trust_denied", "locked"})
_ADB = frozenset({"unauthorized", "usb_debugging_off"})


def _t(text: str) -> str:
    return QCoreApplication.translate(_CONTEXT, text)


def _fill(text: str, *args: object) -> str:
    for n, arg in enumerate(args, start=1):
        text = text.replace(f"%{n}", str(arg))
    return text


def _slots(states: Sequence[SlotState]) -> str:
    numbers = sorted(s.slot for s in states if s.slot)
    text = ", ".join(str(n) for n in numbers)
    if len(numbers) < len(states):
        text = ", ".join(p for p in (text, _t("not calibrated")) if p)
    return text


@dataclass(frozen=True)
class Item:
    key: str
    done: bool
    text: str


def _needs(s: SlotState, presences: frozenset[str], words: tuple[str, ...]) -> bool:
    if s.state in (JobState.DONE, JobState.FAILED, JobState.CANCELLED, EMPTY):
        return False
    if s.present and s.presence in presences:
        return True
    return s.state == JobState.NEEDS_PERSON and any(w in s.hint for w in words)


def checklist(
    slots: Sequence[SlotState],
    *,
    ios: bool,
    android: bool,
    started: bool,
    printed: bool,
    expected: int,
) -> list[Item]:
    """The steps a helper follows, each with its counts and slots."""
    seen = [s for s in slots if s.job]
    present = [s for s in seen if s.present]
    items = [
        Item(
            "connect",
            bool(present) or (started and bool(seen)),
            _fill(_t("Connect the cart to the station (%1 tablets seen)"), len(seen)),
        )
    ]
    missing = max(0, expected - len(seen))
    empty = [s for s in slots if s.slot and not s.job]
    text = _t("Switch the tablets on: all %1 are there").replace("%1", str(len(seen)))
    if missing:
        text = _fill(_t("Switch the tablets on: %1 not seen yet, slots %2"), missing, _slots(empty))
    items.append(Item("power", bool(seen) and missing == 0, text))
    if ios:
        ipads = [s for s in seen if s.platform == "ios"]
        left = [s for s in ipads if _needs(s, _TRUST, ("Trust", "Unlock"))]
        text = _t("Tap “Trust” on every iPad")
        if left:
            text = _fill(_t("Trust: %1 iPads left, slots %2"), len(left), _slots(left))
        items.append(Item("trust", bool(ipads) and not left, text))
    if android:
        tablets = [s for s in seen if s.platform == "android"]
        left = [s for s in tablets if _needs(s, _ADB, ("USB debugging",))]
        text = _t("Enable USB debugging on every Android tablet")
        if left:
            text = _fill(_t("USB debugging: %1 tablets left, slots %2"), len(left), _slots(left))
        items.append(Item("usb_debugging", bool(tablets) and not left, text))
    items.append(Item("start", started, _t("Start the run")))
    done = [s for s in seen if s.state == JobState.DONE]
    text = _t("Print the labels and stick them on in slot order")
    if done and not printed:
        text = _fill(_t("Print the labels (%1 ready) and stick them on in slot order"), len(done))
    items.append(Item("labels", printed, text))
    plugged = [s for s in done if s.present]
    text = _t("Unplug the finished tablets")
    if plugged:
        text = _fill(_t("Unplug the finished tablets: slots %1"), _slots(plugged))
    items.append(Item("unplug", bool(done) and not plugged, text))
    failed = [s for s in seen if s.state == JobState.FAILED]
    text = _t("No failures")
    if failed:
        hints = sorted({hint_text(s.hint) for s in failed if s.hint})
        text = _fill(_t("Failed: slots %1. %2"), _slots(failed), " / ".join(hints))
    items.append(Item("failures", not failed, text.strip()))
    return items


class ChecklistPanel(QListWidget):
    """Shows :func:`checklist`; helpers read it, the station ticks it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("checklist")
        self.setWordWrap(True)
        font = self.font()
        font.setPointSizeF(max(font.pointSizeF(), 12))
        self.setFont(font)
        self.shown: list[Item] = []

    def show_items(self, items: list[Item]) -> None:
        if items == self.shown:
            return
        self.shown = items
        self.clear()
        for item in items:
            mark = "✔" if item.done else "☐"
            word = _t("done") if item.done else _t("to do")
            row = QListWidgetItem(f"{mark} {item.text}  ({word})")
            row.setData(Qt.ItemDataRole.UserRole, item.key)
            row.setData(Qt.ItemDataRole.UserRole + 1, item.done)
            row.setFlags(Qt.ItemFlag.ItemIsEnabled)
            self.addItem(row)
