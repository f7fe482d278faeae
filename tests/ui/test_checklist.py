"""The helper's checklist through a run: an item is ticked only once it has really happened."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from station.commands import demo_blueprint, demo_secrets
from station.jobs.events import EventType, JobEvent, JobState
from station.ui.checklist import checklist
from station.ui.models import SlotState
from station.ui.runtime import EventBridge, Runtime
from station.ui.window import MainWindow
from tests.ui.fakes import FakeBackend, device, job

TRUST = "Unlock the iPad and tap Trust"
ADB = "Unlock the tablet and tap Allow on the USB debugging prompt (tick 'Always allow')"
CABLE = "Check the tablet and its cable, then retry it"
OFFSCREEN_NOTE = "This plugin does not support propagateSizeHints"

Items = dict[str, tuple[bool, str]]


def _items(window: MainWindow) -> Items:
    return {item.key: (item.done, item.text) for item in window.checklist.shown}


@pytest.fixture
def cart(qtbot: QtBot, tmp_path: Path) -> tuple[MainWindow, FakeBackend]:
    """The window over the real runtime, a cart of 4 slots, the demo blueprint (both kinds)."""
    backend = FakeBackend(tmp_path, slots=4)
    backend.secrets = demo_secrets(tmp_path / "secrets")
    backend.paths = [demo_blueprint(tmp_path / "blueprints")]
    runtime = Runtime(backend, EventBridge())
    runtime.start()
    window = MainWindow(runtime)
    qtbot.addWidget(window, before_close_func=lambda w: runtime.shutdown())
    return window, backend


def _publish(window: MainWindow, backend: FakeBackend, *events: JobEvent) -> None:
    """On the engine's loop thread, in order, as the engine publishes."""
    loop, bus = window.runtime._loop, backend.bus
    assert loop is not None
    assert bus is not None
    for event in events:
        loop.call_soon_threadsafe(bus.publish, event)


def _wait(qtbot: QtBot, window: MainWindow, key: str, text: str) -> Items:
    qtbot.waitUntil(lambda: _items(window)[key][1] == text, timeout=10000)
    return _items(window)


@pytest.mark.qt_log_ignore(OFFSCREEN_NOTE)
def test_the_checklist_through_a_run(qtbot: QtBot, cart: tuple[MainWindow, FakeBackend]) -> None:
    window, backend = cart
    with qtbot.waitSignal(window.bridge.blueprint_loaded, timeout=20000):
        window.choose_blueprint(backend.paths[0])

    # Before the start: nothing is done, nothing is seen.
    assert _items(window) == {
        "connect": (False, "Connect the cart to the station (0 tablets seen)"),
        "power": (False, "Switch the tablets on: 4 not seen yet, slots 1–4"),
        "trust": (False, "Tap “Trust” on every iPad"),
        "usb_debugging": (False, "Enable USB debugging on every Android tablet"),
        "start": (False, "Start the run"),
        "labels": (False, "Print the labels and stick them on in slot order"),
        "unplug": (False, "Unplug the finished tablets"),
        "failures": (False, "No failures so far"),
    }

    # Running, nothing finished yet: no failures so far is not "no failures".
    with qtbot.waitSignal(window.bridge.run_started, timeout=5000):
        window.start_run()
    qtbot.waitUntil(lambda: backend.bus is not None, timeout=5000)
    _publish(
        window,
        backend,
        device("ios:a", 1),
        device("ios:b", 2, "needs_trust", hint=TRUST),
        device("android:c", 3, "unauthorized", platform="android", hint=ADB),
        device("ios:d", 4),
        job("ios:a", JobState.RUNNING, slot=1, step="erase"),
        job("ios:d", JobState.RUNNING, slot=4, step="pair"),  # pairing: no prompt yet
    )
    items = _wait(qtbot, window, "connect", "Connect the cart to the station (4 tablets seen)")
    assert items == {
        "connect": (True, "Connect the cart to the station (4 tablets seen)"),
        "power": (True, "Switch the tablets on: all 4 are there"),
        "trust": (False, "Trust: 1 iPads left, slots 2"),
        "usb_debugging": (False, "USB debugging: 1 tablets left, slots 3"),
        "start": (True, "Start the run"),
        "labels": (False, "Print the labels and stick them on in slot order"),
        "unplug": (False, "Unplug the finished tablets"),
        "failures": (False, "No failures so far"),
    }

    # Mid-run, one tablet done and still plugged in.
    _publish(window, backend, job("ios:a", JobState.DONE, slot=1, tag="SEG-1"))
    items = _wait(qtbot, window, "unplug", "Unplug the finished tablets: slots 1")
    assert items["unplug"] == (False, "Unplug the finished tablets: slots 1")
    assert items["labels"] == (
        False,
        "Print the labels (1 ready) and stick them on in slot order",
    )
    assert items["failures"] == (False, "No failures so far")

    # Mid-run, the one finished tablet unplugged: the others are not finished yet.
    _publish(window, backend, JobEvent(**{**device("ios:a", 1).__dict__, "state": "detached"}))
    items = _wait(qtbot, window, "unplug", "Unplug the finished tablets")
    assert items["unplug"] == (False, "Unplug the finished tablets")

    # The person taps Trust and Allow; one iPad fails, the others finish.
    _publish(
        window,
        backend,
        device("ios:b", 2),
        job("ios:b", JobState.RUNNING, slot=2, step="erase"),
        device("android:c", 3, platform="android"),
        job("android:c", JobState.RUNNING, slot=3, step="app:x.y", platform="android"),
        job("ios:d", JobState.RUNNING, slot=4, step="erase"),
    )
    items = _wait(qtbot, window, "trust", "Tap “Trust” on every iPad")
    assert items["trust"] == (True, "Tap “Trust” on every iPad")
    assert items["usb_debugging"] == (True, "Enable USB debugging on every Android tablet")
    _publish(
        window,
        backend,
        job("ios:b", JobState.FAILED, slot=2, step="erase", hint=CABLE),
        job("android:c", JobState.DONE, slot=3, platform="android", tag="SEG-3"),
        job("ios:d", JobState.DONE, slot=4, tag="SEG-4"),
    )
    _wait(qtbot, window, "unplug", "Unplug the finished tablets: slots 3, 4")
    assert backend.finish is not None
    assert window.runtime._loop is not None
    with qtbot.waitSignal(window.run_finished, timeout=5000):
        window.runtime._loop.call_soon_threadsafe(backend.finish.set)

    # Finished with a failure: what to do there, per slot; labels and unplugging to do.
    assert _items(window) == {
        "connect": (True, "Connect the cart to the station (4 tablets seen)"),
        "power": (True, "Switch the tablets on: all 4 are there"),
        "trust": (True, "Tap “Trust” on every iPad"),
        "usb_debugging": (True, "Enable USB debugging on every Android tablet"),
        "start": (True, "Start the run"),
        "labels": (False, "Print the labels (3 ready) and stick them on in slot order"),
        "unplug": (False, "Unplug the finished tablets: slots 3, 4"),
        "failures": (False, f"Failed: slots 2. {CABLE}"),
    }
    with qtbot.waitSignal(window.bridge.labels_ready, timeout=5000):
        window.print_action.trigger()
    assert [j["slot"] for j in backend.label_requests[-1]] == [1, 3, 4]
    qtbot.waitUntil(lambda: window.label_preview is not None, timeout=5000)
    assert window.label_preview is not None
    window.label_preview.accept()
    assert _items(window)["labels"] == (True, "Print the labels and stick them on in slot order")

    # After the run the window still watches the tablets: unplugging them ticks the item.
    qtbot.waitUntil(lambda: window.runtime._watch_task is not None, timeout=5000)
    _publish(
        window,
        backend,
        JobEvent(
            type=EventType.DEVICE, platform="android", serial="c", state="detached", port="1-1.3"
        ),
        JobEvent(type=EventType.DEVICE, platform="ios", serial="d", state="detached"),
    )
    items = _wait(qtbot, window, "unplug", "Unplug the finished tablets")
    assert items == {
        "connect": (True, "Connect the cart to the station (4 tablets seen)"),
        "power": (True, "Switch the tablets on: all 4 are there"),
        "trust": (True, "Tap “Trust” on every iPad"),
        "usb_debugging": (True, "Enable USB debugging on every Android tablet"),
        "start": (True, "Start the run"),
        "labels": (True, "Print the labels and stick them on in slot order"),
        "unplug": (True, "Unplug the finished tablets"),
        "failures": (False, f"Failed: slots 2. {CABLE}"),
    }
    assert not window.model.slot_state(2).present


def _tablet(slot: int, platform: str, state: str, **fields: Any) -> SlotState:
    tablet = SlotState(slot=slot, job=f"{platform}:{slot}", platform=platform, state=state)
    return dataclasses.replace(tablet, **fields)


def _check(slots: list[SlotState], *, over: bool = False, printed: set[str] | None = None) -> Items:
    items = checklist(
        slots,
        ios=True,
        android=True,
        started=True,
        printed=printed or set(),
        expected=len(slots),
        over=over,
    )
    return {item.key: (item.done, item.text) for item in items}


def test_an_attached_ipad_is_not_trusted_until_it_went_past_pairing() -> None:
    ipad = _tablet(1, "ios", JobState.WAITING, present=True, presence="ready")
    assert _check([ipad])["trust"] == (False, "Tap “Trust” on every iPad")
    ipad.passed_gate = True
    assert _check([ipad])["trust"] == (True, "Tap “Trust” on every iPad")
    # Asked again after a restart (the gate runs again): not done while it waits for Trust.
    ipad.state, ipad.hint = JobState.NEEDS_PERSON, TRUST
    assert _check([ipad])["trust"] == (False, "Trust: 1 iPads left, slots 1")


def test_a_cart_without_android_tablets_has_nothing_to_allow() -> None:
    ipads = [_tablet(n, "ios", JobState.RUNNING, present=True, passed_gate=True) for n in (1, 2)]
    items = _check(ipads)
    assert items["usb_debugging"] == (True, "Enable USB debugging on every Android tablet")
    assert items["trust"][0]


def test_trust_waits_for_every_tablet_until_the_run_is_over() -> None:
    ipad = _tablet(1, "ios", JobState.RUNNING, present=True, passed_gate=True)
    items = checklist(
        [ipad, SlotState(slot=2)],
        ios=True,
        android=False,
        started=True,
        printed=set(),
        expected=2,
    )
    by_key = {i.key: (i.done, i.text) for i in items}
    assert by_key["trust"] == (False, "Tap “Trust” on every iPad")  # slot 2 may be an iPad
    assert by_key["power"] == (False, "Switch the tablets on: 1 not seen yet, slots 2")
    items = checklist(
        [ipad, SlotState(slot=2)],
        ios=True,
        android=False,
        started=True,
        printed=set(),
        expected=2,
        over=True,
    )
    assert {i.key: i.done for i in items}["trust"]


def test_a_finished_run_without_failures_ticks_every_item() -> None:
    slots = [
        _tablet(1, "ios", JobState.DONE, passed_gate=True),
        _tablet(2, "android", JobState.DONE, passed_gate=True),
    ]
    items = _check(slots, over=True, printed={"ios:1", "android:2"})
    assert all(done for done, _text in items.values()), items
    assert items["failures"] == (True, "No failures")
    assert items["unplug"] == (True, "Unplug the finished tablets")
    # One label still to print: that item alone is not done.
    items = _check(slots, over=True, printed={"ios:1"})
    assert items["labels"] == (False, "Print the labels (1 ready) and stick them on in slot order")


def test_each_failure_says_what_to_do_there() -> None:
    slots = [
        _tablet(1, "ios", JobState.FAILED, hint=CABLE),
        _tablet(2, "ios", JobState.DONE),
        _tablet(3, "ios", JobState.FAILED, hint=TRUST),
        _tablet(4, "ios", JobState.FAILED, hint=CABLE),
        _tablet(5, "ios", JobState.FAILED),
    ]
    done, text = _check(slots, over=True)["failures"]
    assert not done
    assert text.splitlines() == [
        f"Failed: slots 1, 4. {CABLE}",
        f"Failed: slots 3. {TRUST}",
        "Failed: slots 5.",
    ]


def test_long_slot_lists_are_ranges() -> None:
    items = checklist(
        [SlotState(slot=n) for n in range(1, 31)],
        ios=False,
        android=False,
        started=False,
        printed=set(),
        expected=30,
    )
    assert items[1].text == "Switch the tablets on: 30 not seen yet, slots 1–30"
    left = [
        _tablet(n, "ios", JobState.NEEDS_PERSON, hint=TRUST, present=True, presence="needs_trust")
        for n in (3, 7, 8, 9, 12, 13)
    ]
    assert _check(left)["trust"] == (False, "Trust: 6 iPads left, slots 3, 7–9, 12, 13")
