"""The cart model: one row per slot, following engine events, repaints coalesced."""

from __future__ import annotations

import sys

import pytest
from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex
from pytestqt.qtbot import QtBot

from station.jobs.events import EventType, JobEvent, JobState
from station.ui.backend import CartLayout
from station.ui.models import CartModel, Role
from station.ui.texts import EMPTY
from tests.ui.fakes import device, job, progress


def test_model_passes_qtmodeltester_through_a_run(qtmodeltester: object) -> None:
    model = CartModel(CartLayout(5, 6))
    qtmodeltester.check(model, force_py=True)  # type: ignore[attr-defined]
    model.apply(
        [
            device("ios:a", 3, "needs_trust", hint="Unlock the iPad and tap Trust"),
            job("ios:a", JobState.RUNNING, slot=3, step="app:de.x.lern", tag="SEG-1"),
            progress("ios:a", 3, 0.4),
            job("android:b", JobState.WAITING, slot=None, platform="android"),  # not calibrated
            job("ios:a", JobState.DONE, slot=7, tag="SEG-1"),  # moved to slot 7
        ]
    )
    model.flush()
    qtmodeltester.check(model, force_py=True)  # type: ignore[attr-defined]
    assert model.rowCount() == 31


def test_every_slot_is_a_row_empty_ones_included() -> None:
    model = CartModel(CartLayout(5, 6))
    assert model.rowCount() == 30
    first, last = model.index(0), model.index(29)
    assert (first.data(Role.SLOT), last.data(Role.SLOT)) == (1, 30)
    assert first.data(Role.STATE) == EMPTY
    assert "Slot 1" in first.data()
    assert "Empty" in first.data()


def test_tile_follows_engine_events(qtbot: QtBot) -> None:
    model = CartModel(CartLayout(2, 3))
    with qtbot.waitSignal(model.dataChanged, timeout=5000) as blocker:
        model.apply(
            [
                device("ios:a", 2, "ready"),
                job("ios:a", JobState.RUNNING, slot=2, step="app:de.x.lern", tag="SEG042-00007"),
                progress("ios:a", 2, 0.25),
            ]
        )
    top_left, bottom_right = blocker.args[0], blocker.args[1]
    assert (top_left.row(), bottom_right.row()) == (1, 1)
    index = model.index(1)
    assert index.data(Role.STATE) == JobState.RUNNING
    assert index.data(Role.TITLE) == "SEG042-00007"
    assert index.data(Role.STEP) == "App lern"
    assert index.data(Role.FRACTION) == 0.25
    assert index.data(Role.PRESENT) is True

    model.apply(
        [
            job(
                "ios:a",
                JobState.NEEDS_PERSON,
                slot=2,
                step="pair",
                hint="Unlock the iPad and tap Trust",
            )
        ]
    )
    model.flush()
    assert index.data(Role.STATE) == JobState.NEEDS_PERSON
    assert index.data(Role.ACTION) == "Unlock the iPad and tap Trust"
    assert index.data(Role.FRACTION) is None  # a new step: no stale progress


def test_state_changes_are_reported_at_once(qtbot: QtBot) -> None:
    model = CartModel(CartLayout(1, 4))
    with qtbot.waitSignal(model.state_changed, timeout=1000) as blocker:
        model.apply([job("ios:a", JobState.FAILED, slot=4, hint="x")])
    assert blocker.args == [3, EMPTY, JobState.FAILED]


def test_a_tablet_moved_to_another_slot_leaves_its_old_slot_empty() -> None:
    model = CartModel(CartLayout(1, 4))
    model.apply([job("ios:a", JobState.RUNNING, slot=1, step="erase")])
    model.apply([job("ios:a", JobState.PAUSED, slot=1)])
    model.apply([device("ios:a", 3), job("ios:a", JobState.RUNNING, slot=3, step="erase")])
    model.flush()
    assert model.index(0).data(Role.STATE) == EMPTY
    assert model.index(2).data(Role.JOB) == "ios:a"
    assert model.row_of("ios:a") == 2


def test_timeline_records_steps_with_durations() -> None:
    model = CartModel(CartLayout(1, 2))
    base = "2026-11-29T10:00:0{}.000+00:00"
    model.apply(
        [
            JobEvent(
                type=EventType.STEP,
                job="k",
                slot=1,
                step="erase",
                state="running",
                ts=base.format(0),
            ),
            JobEvent(
                type=EventType.STEP, job="k", slot=1, step="erase", state="done", ts=base.format(4)
            ),
            JobEvent(
                type=EventType.STEP,
                job="k",
                slot=1,
                step="app:a.b",
                state="skipped",
                ts=base.format(5),
            ),
        ]
    )
    timeline = model.slot_state(0).timeline
    assert [(e.step, e.status, e.seconds) for e in timeline] == [
        ("erase", "done", 4.0),
        ("app:a.b", "skipped", 0.0),
    ]
    assert len(model.slot_state(0).log) == 3


def test_120_devices_sending_progress_make_one_repaint(qtbot: QtBot) -> None:
    """Updates are coalesced: 12 000 progress events become one dataChanged(first, last)."""
    model = CartModel(CartLayout(10, 12))
    model.apply([job(f"k{n}", JobState.RUNNING, slot=n, step="app:x.y") for n in range(1, 121)])
    model.flush()
    changes: list[tuple[int, int]] = []
    model.dataChanged.connect(lambda a, b, roles: changes.append((a.row(), b.row())))
    for step in range(100):
        model.apply([progress(f"k{n}", n, step / 100, "app:x.y") for n in range(1, 121)])
    assert changes == []  # nothing repainted yet: the named timer coalesces
    qtbot.waitUntil(lambda: bool(changes), timeout=5000)
    assert changes == [(0, 119)]
    assert model.index(119).data(Role.FRACTION) == pytest.approx(0.99)


class _NoneModel(QAbstractListModel):
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex | None = None) -> int:
        return 1

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = 0) -> object:
        return None


def test_pyside_keeps_none_alive_through_index_data() -> None:
    """Why pyproject excludes PySide6 6.12.0: its QModelIndex.data() dropped a reference to
    None each time data() returned None, and the window crashed after a few thousand."""
    model = _NoneModel()
    index = model.index(0)
    before = sys.getrefcount(None)
    for _ in range(1000):
        index.data()
    assert sys.getrefcount(None) >= before - 10


def test_a_batch_with_a_state_change_is_shown_at_once_progress_alone_waits() -> None:
    model = CartModel(CartLayout(2, 6))
    changes: list[tuple[int, int]] = []
    model.dataChanged.connect(lambda a, b, roles: changes.append((a.row(), b.row())))
    model.apply([job("k3", JobState.RUNNING, slot=3, step="erase"), progress("k3", 3, 0.1)])
    assert changes == [(2, 2)]  # one dataChanged for the batch, before apply returns
    model.apply([progress("k3", 3, 0.2)])
    assert changes == [(2, 2)]  # progress alone: the named timer repaints it
    model.apply([job("k9", JobState.WAITING, slot=9), progress("k3", 3, 0.3)])
    assert changes == [(2, 2), (2, 8)]  # one range over every row the batch changed


def test_tablets_unplugged_after_the_run_are_found_by_serial_and_port(
    qtmodeltester: object,
) -> None:
    """After the run the window watches without an engine: DEVICE events without a job."""
    model = CartModel(CartLayout(1, 4))
    model.apply(
        [
            device("ios:UDID1", 1),
            device("android:R52@1-1.2", 2, platform="android"),
            device("android:R52@1-1.3", 3, platform="android"),
        ]
    )
    model.apply(
        [
            JobEvent(type=EventType.DEVICE, platform="ios", serial="UDID1", state="detached"),
            JobEvent(
                type=EventType.DEVICE,
                platform="android",
                serial="R52",
                port="usb:1-1.3",
                state="detached",
            ),
            JobEvent(type=EventType.DEVICE, platform="ios", serial="OTHER", state="attached"),
        ]
    )
    model.flush()
    assert [s.present for s in model.slots()] == [False, True, False, False]
    assert model.rowCount() == 4  # a tablet the run never saw gets no row
    qtmodeltester.check(model, force_py=True)  # type: ignore[attr-defined]


def test_a_tablet_passes_its_gate_once_a_later_step_starts() -> None:
    model = CartModel(CartLayout(1, 2))
    model.apply(
        [device("ios:a", 1, "needs_trust"), job("ios:a", JobState.RUNNING, slot=1, step="pair")]
    )
    assert not model.slot_state(0).passed_gate
    model.apply([job("ios:a", JobState.RUNNING, slot=1, step="erase")])
    assert model.slot_state(0).passed_gate
    model.apply([job("ios:a", JobState.NEEDS_PERSON, slot=1, step="pair", hint="x")])
    assert model.slot_state(0).passed_gate  # asked again after a restart: it was trusted once
