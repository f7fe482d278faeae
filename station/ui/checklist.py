"""The helper's checklist for the chosen blueprint, ticked off by itself from device states."""

from __future__ import annotations

from collections.abc import Sequence
from collections.abc import Set as AbstractSet
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


def _numbers(numbers: list[int]) -> str:
    """``1, 2, 3, 4, 7`` as ``1–4, 7``: a cart of 30 empty slots is one short line."""
    parts: list[str] = []
    run: list[int] = []
    for n in [*sorted(numbers), None]:
        if run and (n is None or n != run[-1] + 1):
            parts.append(f"{run[0]}–{run[-1]}" if len(run) > 2 else ", ".join(map(str, run)))
            run = []
        if n is not None:
            run.append(n)
    return ", ".join(parts)


def _slots(states: Sequence[SlotState]) -> str:
    numbers = [s.slot for s in states if s.slot]
    text = _numbers(numbers)
    if len(numbers) < len(states):
        text = ", ".join(p for p in (text, _t("not calibrated")) if p)
    return text


@dataclass(frozen=True)
class Item:
    key: str
    done: bool
    text: str


def _final(s: SlotState) -> bool:
    return s.state in (JobState.DONE, JobState.FAILED, JobState.CANCELLED)


def _needs(s: SlotState, presences: frozenset[str], words: tuple[str, ...]) -> bool:
    if _final(s) or s.state == EMPTY:
        return False
    if s.present and s.presence in presences:
        return True
    return s.state == JobState.NEEDS_PERSON and any(w in s.hint for w in words)


def _gate(
    tablets: Sequence[SlotState],
    presences: frozenset[str],
    words: tuple[str, ...],
    *,
    everyone: bool,
) -> tuple[bool, list[SlotState]]:
    """(done, the tablets waiting for a person) for Trust or USB debugging.

    Done only when each of these tablets went past the engine's gate (or ended), and no
    more can come: every expected tablet is there, or the run is over. A tablet that is
    merely attached has not shown its prompt yet: the iPad asks for Trust when paired.
    """
    left = [s for s in tablets if _needs(s, presences, words)]
    waiting = [s for s in tablets if not _final(s) and not s.passed_gate]
    return everyone and not left and not waiting, left


def checklist(
    slots: Sequence[SlotState],
    *,
    ios: bool,
    android: bool,
    started: bool,
    printed: AbstractSet[str],
    expected: int,
    over: bool = False,
) -> list[Item]:
    """The steps a helper follows, each with its counts and slots.

    Args:
        slots: the cart model's rows.
        ios, android: the blueprint provisions this platform (its step is listed).
        started: a run was started.
        printed: jobs whose labels were printed with the cart's labels.
        expected: how many tablets the cart holds.
        over: the run ended (or none runs and every tablet seen is final): nothing more
            will finish, so the items about finished tablets and failures can be done.
    """
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
    everyone = bool(seen) and (missing == 0 or over)
    if ios:
        ipads = [s for s in seen if s.platform == "ios"]
        done, left = _gate(ipads, _TRUST, ("Trust", "Unlock"), everyone=everyone)
        text = _t("Tap “Trust” on every iPad")
        if left:
            text = _fill(_t("Trust: %1 iPads left, slots %2"), len(left), _slots(left))
        items.append(Item("trust", done, text))
    if android:
        tablets = [s for s in seen if s.platform == "android"]
        done, left = _gate(tablets, _ADB, ("USB debugging",), everyone=everyone)
        text = _t("Enable USB debugging on every Android tablet")
        if left:
            text = _fill(_t("USB debugging: %1 tablets left, slots %2"), len(left), _slots(left))
        items.append(Item("usb_debugging", done, text))
    items.append(Item("start", started, _t("Start the run")))
    finished = [s for s in seen if s.state == JobState.DONE]
    unprinted = [s for s in finished if s.job not in printed]
    text = _t("Print the labels and stick them on in slot order")
    if unprinted:
        text = _fill(
            _t("Print the labels (%1 ready) and stick them on in slot order"), len(unprinted)
        )
    items.append(Item("labels", over and not unprinted, text))
    plugged = [s for s in finished if s.present]
    text = _t("Unplug the finished tablets")
    if plugged:
        text = _fill(_t("Unplug the finished tablets: slots %1"), _slots(plugged))
    items.append(Item("unplug", over and not plugged, text))
    failed = [s for s in seen if s.state == JobState.FAILED]
    if failed:
        # What to do, per failure: the slots that share a hint on one line each.
        groups: dict[str, list[SlotState]] = {}
        for s in sorted(failed, key=lambda s: (not s.slot, s.slot)):
            groups.setdefault(hint_text(s.hint) if s.hint else "", []).append(s)
        text = "\n".join(
            _fill(_t("Failed: slots %1. %2"), _slots(group), hint).strip()
            for hint, group in groups.items()
        )
    else:
        text = _t("No failures") if over else _t("No failures so far")
    items.append(Item("failures", over and not failed, text))
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
