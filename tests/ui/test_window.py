"""The window over a runtime thread: blueprints, run control, checklist, detail, modes, sound."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint
from pytestqt.qtbot import QtBot

from station.jobs.events import EventBus, EventType, JobEvent, JobState
from station.ui.backend import CartLayout
from station.ui.models import CartModel
from station.ui.runtime import Coalescer, Runtime
from station.ui.technician import PIN_SETTING, check_pin
from station.ui.tiles import STATE_COLOURS, CartView
from station.ui.window import MainWindow
from tests.ui.fakes import FakeBackend, device, job, progress

BROKEN = """\
name = "Broken"
school = { id = "bad id!", name = "X", operator = "Y" }
asset_tag = { prefix = "X-", digits = "five" }

[ios]
erase = "sometimes"
apps = ["missing.ipa"]
"""

TRUST = "Unlock the iPad and tap Trust"
ADB = "Unlock the tablet and tap Allow on the USB debugging prompt (tick 'Always allow')"


def _checklist(window: MainWindow) -> dict[str, tuple[bool, str]]:
    return {item.key: (item.done, item.text) for item in window.checklist.shown}


def _finish(backend: FakeBackend, runtime: Runtime) -> None:
    assert runtime._loop is not None
    assert backend.finish is not None
    runtime._loop.call_soon_threadsafe(backend.finish.set)


def test_blueprint_errors_are_listed_with_file_line_and_key(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(BROKEN, encoding="utf-8")
    with qtbot.waitSignal(window.bridge.blueprint_failed, timeout=10000):
        window.choose_blueprint(path)
    control = window.run_control
    problems = [control.problems.item(i).text() for i in range(control.problems.count())]
    assert len(problems) == 4
    assert problems[0].startswith(f"{path}:2  school.id: 'bad id!' has the wrong form")
    assert any(f"{path}:3  asset_tag.digits" in p for p in problems)
    assert any("ios.apps[0]" in p and "missing.ipa" in p for p in problems)
    assert "4 problems" in control.status.text()
    assert not control.start_button.isEnabled()


def test_a_valid_blueprint_enables_start_and_the_run_reaches_the_engine(
    qtbot: QtBot, demo_window: MainWindow, demo_backend: FakeBackend
) -> None:
    window = demo_window
    with qtbot.waitSignal(window.bridge.blueprint_loaded, timeout=20000):
        window.choose_blueprint(demo_backend.paths[0])
    assert window.run_control.start_button.isEnabled()
    assert "Sventana" in window.run_control.status.text()
    with qtbot.waitSignal(window.bridge.run_started, timeout=5000):
        window.run_control.start_button.click()
    assert window.run_control.stop_button.isEnabled()
    with qtbot.waitSignal(window.run_finished, timeout=5000):
        _finish(demo_backend, window.runtime)
    assert not window.run_control.stop_button.isEnabled()
    assert "1 of 1" in window.run_control.summary.text()


@pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")
def test_checklist_ticks_itself_off_from_device_states(
    qtbot: QtBot, demo_window: MainWindow, demo_backend: FakeBackend
) -> None:
    window = demo_window
    demo_backend.slots = 4
    gate = asyncio.Event()
    later: list[JobEvent] = []

    async def script(bus: EventBus) -> None:
        for event in (
            device("ios:a", 1),
            device("ios:b", 3, "needs_trust", hint=TRUST),
            device("ios:c", 7, "needs_trust", hint=TRUST),
            device("android:d", 2, "unauthorized", platform="android", hint=ADB),
        ):
            bus.publish(event)
        await gate.wait()
        for event in later:
            bus.publish(event)

    demo_backend.script = script
    with qtbot.waitSignal(window.bridge.blueprint_loaded, timeout=20000):
        window.choose_blueprint(demo_backend.paths[0])
    window.start_run()
    qtbot.waitUntil(lambda: "trust" in _checklist(window), timeout=5000)
    qtbot.waitUntil(
        lambda: (
            _checklist(window)["trust"][0] is False and "left" in _checklist(window)["trust"][1]
        ),
        timeout=5000,
    )
    items = _checklist(window)
    assert items["trust"] == (False, "Trust: 2 iPads left, slots 3, 7")
    assert items["usb_debugging"] == (False, "USB debugging: 1 tablets left, slots 2")
    assert items["connect"][0]
    assert items["start"][0]
    assert items["power"] == (True, "Switch the tablets on: all 4 are there")

    later.extend(
        [
            device("ios:b", 3, "ready"),
            device("ios:c", 7, "ready"),
            device("android:d", 2, "ready", platform="android"),
            job("ios:a", JobState.DONE, slot=1, tag="SEG-1"),
            job(
                "ios:b",
                JobState.FAILED,
                slot=3,
                hint="Check the tablet and its cable, then retry it",
            ),
        ]
    )
    assert window.runtime._loop is not None
    window.runtime._loop.call_soon_threadsafe(gate.set)
    qtbot.waitUntil(lambda: _checklist(window)["unplug"][1].endswith("slots 1"), timeout=5000)
    items = _checklist(window)
    # Attached and "ready" is not trusted yet: an iPad asks for Trust when it is paired.
    assert items["trust"] == (False, "Tap “Trust” on every iPad")
    assert items["usb_debugging"] == (False, "Enable USB debugging on every Android tablet")
    assert items["failures"] == (
        False,
        "Failed: slots 3. Check the tablet and its cable, then retry it",
    )
    assert items["unplug"] == (False, "Unplug the finished tablets: slots 1")
    assert items["labels"] == (False, "Print the labels (1 ready) and stick them on in slot order")

    bus = demo_backend.bus
    assert bus is not None
    for event in (
        job("ios:c", JobState.RUNNING, slot=7, step="erase"),
        job("android:d", JobState.RUNNING, slot=2, step="app:x.y", platform="android"),
    ):
        window.runtime._loop.call_soon_threadsafe(bus.publish, event)
    qtbot.waitUntil(lambda: _checklist(window)["trust"][0], timeout=5000)
    assert _checklist(window)["usb_debugging"][0]

    with qtbot.waitSignal(window.bridge.labels_ready, timeout=5000):
        window.print_action.trigger()
    assert [j["slot"] for j in demo_backend.label_requests[-1]] == [1]
    qtbot.waitUntil(lambda: window.label_preview is not None, timeout=5000)
    assert window.label_preview is not None
    window.label_preview.accept()  # printed from the preview
    # Two tablets are still working: their labels are still to come.
    assert _checklist(window)["labels"] == (
        False,
        "Print the labels and stick them on in slot order",
    )
    _finish(demo_backend, window.runtime)
    qtbot.waitSignal(window.run_finished, timeout=5000).wait()
    assert _checklist(window)["labels"] == (
        True,
        "Print the labels and stick them on in slot order",
    )


def test_detail_shows_the_error_and_retry_goes_to_the_engine_thread(
    qtbot: QtBot, window: MainWindow, backend: FakeBackend, tmp_path: Path
) -> None:
    async def script(bus: EventBus) -> None:
        bus.publish(device("ios:a", 2))
        bus.publish(
            JobEvent(type=EventType.STEP, job="ios:a", slot=2, step="erase", state="running")
        )
        bus.publish(
            JobEvent(
                type=EventType.STEP,
                job="ios:a",
                slot=2,
                step="erase",
                state="failed",
                detail="boom",
            )
        )
        bus.publish(
            job(
                "ios:a",
                JobState.FAILED,
                slot=2,
                detail="erase: boom",
                hint="Check the tablet and its cable, then retry it",
            )
        )

    backend.script = script
    window.runtime.start_run(tmp_path / "any.toml")
    qtbot.waitUntil(lambda: window.model.slot_state(1).state == JobState.FAILED, timeout=5000)
    window.view.setCurrentIndex(window.model.index(1))
    detail = window.detail
    assert "erase: boom" in detail.error_label.text()
    assert "What to do: Check the tablet and its cable" in detail.error_label.text()
    assert detail.timeline.topLevelItem(0).text(0) == "Erasing"
    assert detail.timeline.topLevelItem(0).text(1) == "failed"
    assert detail.retry_button.isEnabled()
    detail.retry_button.click()
    qtbot.waitUntil(lambda: window.model.slot_state(1).state == JobState.WAITING, timeout=5000)
    assert backend.engine is not None
    assert backend.engine.commands == [("retry", "ios:a")]
    _finish(backend, window.runtime)
    qtbot.waitSignal(window.run_finished, timeout=5000).wait()


def test_helper_mode_refuses_technician_actions(
    qtbot: QtBot, window: MainWindow, backend: FakeBackend, tmp_path: Path
) -> None:
    assert not window.mode.active
    assert not window.settings_action.isEnabled()
    assert not window.calibrate_action.isEnabled()
    assert not window.run_control.open_button.isEnabled()
    refused: list[str] = []
    window.mode.refused.connect(refused.append)
    assert window.open_settings() is False
    assert window.open_calibration() is False
    assert window.open_blueprint_file(tmp_path / "x.toml") is False
    assert window.cancel_device("ios:a") is False
    assert window.open_secrets() is False
    assert refused == ["settings", "calibrate", "blueprint", "cancel", "secrets"]
    assert "Only a technician" in window.statusBar().currentMessage()
    assert window.run_control.chooser.count() == 0  # the refused blueprint was not added

    window.mode.set_pin("4711")
    stored = backend.settings.values[PIN_SETTING]
    assert "4711" not in stored
    assert stored.startswith("scrypt$")
    assert check_pin("4711", stored)
    assert not check_pin("4712", stored)
    assert window.mode.enter("0000") is False
    assert window.mode.enter("4711") is True
    assert window.settings_action.isEnabled()
    assert window.open_blueprint_file(tmp_path / "x.toml") is True
    window.mode.leave()
    assert not window.settings_action.isEnabled()


# The offscreen platform says so whenever a dialog is shown; harmless.
OFFSCREEN_NOTE = "This plugin does not support propagateSizeHints"


@pytest.mark.qt_log_ignore(OFFSCREEN_NOTE)
def test_calibration_wizard_maps_ports_to_slots_in_order(
    qtbot: QtBot, window: MainWindow, backend: FakeBackend
) -> None:
    window.mode.set_pin("4711")
    window.mode.enter("4711")
    assert window.open_calibration()
    wizard = window.calibration
    assert wizard is not None
    qtbot.waitUntil(lambda: backend.bus is not None, timeout=5000)
    bus = backend.bus
    assert bus is not None
    assert window.runtime._loop is not None
    for port in ("1-1.4", "1-1.2", "1-2.1"):
        window.runtime._loop.call_soon_threadsafe(
            bus.publish, JobEvent(type=EventType.DEVICE, state="attached", port=f"usb:{port}")
        )
    qtbot.waitUntil(lambda: len(wizard.ports) == 3, timeout=5000)
    wizard.finish_button.click()
    qtbot.waitUntil(lambda: backend.saved_calibration is not None, timeout=5000)
    assert backend.saved_calibration == {"1-1.4": 1, "1-1.2": 2, "1-2.1": 3}


def test_banner_and_sound_when_a_slot_needs_a_person_and_when_done(
    qtbot: QtBot, window: MainWindow
) -> None:
    banner = window.banner
    window.model.apply([job("ios:a", JobState.NEEDS_PERSON, slot=5, step="pair", hint=TRUST)])
    assert banner.isVisibleTo(window)
    assert banner.kind == "person"
    assert banner.text() == f"⚠ Slot 5 needs you: {TRUST}"
    assert banner.beeps == 1
    window.model.apply([job("ios:a", JobState.RUNNING, slot=5, step="erase")])
    window.model.flush()
    assert banner.kind == ""  # nobody is needed any more

    window.sound_action.setChecked(False)
    assert window.settings.get_setting("ui.sound") == "off"
    window.model.apply([job("ios:b", JobState.NEEDS_PERSON, slot=6, step="pair", hint=TRUST)])
    assert banner.kind == "person"
    assert banner.beeps == 1
    window.model.apply(
        [JobEvent(type=EventType.RUN, state="finished", data={"done": 2, "devices": 2})]
    )
    assert banner.kind == "done"
    assert "The cart is done" in banner.text()


def test_runtime_delivers_events_on_the_gui_thread_in_batches(
    qtbot: QtBot, runtime: Runtime, backend: FakeBackend, tmp_path: Path
) -> None:
    """Progress is coalesced per job; state changes all arrive, in order, after that job's
    progress published before them."""
    seen_threads: set[str] = set()
    received: list[JobEvent] = []
    batches: list[int] = []
    published: list[JobEvent] = []

    def on_events(events: list[JobEvent]) -> None:
        seen_threads.add(threading.current_thread().name)
        batches.append(len(events))
        received.extend(events)

    runtime.bridge.events.connect(on_events)
    rounds = 50

    async def script(bus: EventBus) -> None:
        def publish(event: JobEvent) -> None:
            published.append(event)
            bus.publish(event)

        for n in range(1, 121):
            publish(job(f"k{n}", JobState.RUNNING, slot=n, step="app:de.x.lern"))
        for step in range(rounds):
            for n in range(1, 121):  # two per job in one go: only the newer can matter
                publish(progress(f"k{n}", n, step / rounds))
                publish(progress(f"k{n}", n, (step + 0.5) / rounds))
            publish(job(f"k{step + 1}", JobState.NEEDS_PERSON, slot=step + 1, hint="x"))
            await asyncio.sleep(0.001)
        publish(job("k1", JobState.DONE, slot=1))

    backend.script = script
    runtime.start_run(tmp_path / "x.toml")
    qtbot.waitUntil(lambda: any(e.state == JobState.DONE for e in received), timeout=20000)
    assert seen_threads == {threading.main_thread().name}
    # Every state change arrives, in the order published (RUN started comes first).
    changes = [e for e in published if e.type is not EventType.PROGRESS]
    assert [e for e in received if e.type is not EventType.PROGRESS][1:] == changes
    # Before each state change: its job's progress published before it (or a newer one:
    # the bus's own queue replaces a job's pending progress of the same step in place).
    where = {id(e): i for i, e in enumerate(published)}
    for event in changes:
        before = published[: where[id(event)]]
        wanted = [e for e in before if e.type is EventType.PROGRESS and e.job == event.job]
        shown = received[: received.index(event)]
        got = [e for e in shown if e.type is EventType.PROGRESS and e.job == event.job]
        if wanted:
            assert got
            assert where[id(got[-1])] >= where[id(wanted[-1])]
    newest = {e.job: e for e in published if e.type is EventType.PROGRESS}
    qtbot.waitUntil(
        lambda: {e.job: e for e in received if e.type is EventType.PROGRESS} == newest,
        timeout=5000,
    )
    # Coalesced: at most one batch between the script's awaits, never both progress events.
    assert len(batches) <= rounds + 3
    assert sum(1 for e in received if e.type is EventType.PROGRESS) <= rounds * 120
    with qtbot.waitSignal(runtime.bridge.run_ended, timeout=5000):
        _finish(backend, runtime)


def test_coalescer_keeps_the_newest_progress_and_every_state_change_in_order() -> None:
    c = Coalescer(state_interval=0.05, progress_interval=0.1)
    assert c.due_in(0.0) is None
    c.add([progress("a", 1, 0.1), progress("b", 2, 0.1), progress("a", 1, 0.2)])
    assert c.due_in(0.0) == 0.0
    assert [(e.job, e.fraction) for e in c.take(0.0)] == [("b", 0.1), ("a", 0.2)]
    assert c.replaced == 1

    # Progress waits for its interval; a state change goes out sooner, its job's progress first.
    c.add([progress("a", 1, 0.3), progress("b", 2, 0.3)])
    assert c.take(0.06) == []
    assert c.due_in(0.06) == pytest.approx(0.04)
    failed = job("a", JobState.FAILED, slot=1, hint="x")
    c.add([failed])
    assert c.due_in(0.06) == 0.0
    assert [(e.type, e.job) for e in c.take(0.06)] == [
        (EventType.PROGRESS, "a"),
        (EventType.JOB, "a"),
    ]
    # ...but not more often than the state interval.
    c.add([job("b", JobState.NEEDS_PERSON, slot=2, hint="x")])
    assert c.take(0.08) == []
    assert c.due_in(0.08) == pytest.approx(0.03)
    assert [(e.type, e.job) for e in c.take(0.11)] == [
        (EventType.PROGRESS, "b"),
        (EventType.JOB, "b"),
    ]

    # A new tablet in a slot: the progress of the tablet that was there goes first; the run's
    # end takes every pending progress before it.
    c.add([progress("a", 1, 0.5), progress("c", 3, 0.5), device("d", 1)])
    c.add([JobEvent(type=EventType.RUN, state="finished")])
    assert [(e.type, e.job) for e in c.take(0.2)] == [
        (EventType.PROGRESS, "a"),
        (EventType.DEVICE, "d"),
        (EventType.PROGRESS, "c"),
        (EventType.RUN, ""),
    ]
    assert not c.pending


def test_coalescer_never_drops_a_state_change() -> None:
    c = Coalescer()
    changes = [job(f"k{n % 7}", JobState.RUNNING, slot=n % 7 + 1, step=f"s{n}") for n in range(500)]
    sent: list[JobEvent] = []
    now = 0.0
    for n, change in enumerate(changes):
        c.add([progress(f"k{n % 7}", n % 7 + 1, n / 500), change])
        now += 0.01
        sent += c.take(now)
    sent += c.take_all()
    assert [e for e in sent if e.type is EventType.JOB] == changes
    assert c.received == 1000
    assert len(sent) == 1000  # each progress was followed by its job's change: none replaced


def test_a_tile_is_drawn_once_per_state_and_its_progress_on_top(qtbot: QtBot) -> None:
    layout = CartLayout(2, 3)
    model = CartModel(layout)
    view = CartView(layout)
    view.setModel(model)
    qtbot.addWidget(view)
    view.resize(900, 500)
    model.apply(
        [job("k", JobState.RUNNING, slot=2, step="app:x.y", tag="SEG-1"), progress("k", 2, 0.25)]
    )
    model.flush()

    def bar_middle() -> str:
        image = view.viewport().grab().toImage()
        tile = view.tiles._tiles[1]
        assert tile.bar is not None
        x, y, width, height = tile.bar
        where = view.visualRect(model.index(1)).topLeft() + QPoint(x + width // 2, y + height // 2)
        return str(image.pixelColor(where).name())

    assert bar_middle() == "#ffffff"  # a quarter done: the middle of the bar is still empty
    drawn = view.tiles._tiles[1]
    model.apply([progress("k", 2, 0.75)])
    model.flush()
    assert bar_middle() == STATE_COLOURS[JobState.RUNNING][1].lower()
    assert view.tiles._tiles[1] is drawn  # progress alone: the tile's picture is reused
    model.apply([job("k", JobState.DONE, slot=2, tag="SEG-1")])
    view.viewport().grab()
    assert view.tiles._tiles[1] is not drawn
    assert view.tiles._tiles[1].bar is None


@pytest.mark.qt_log_ignore(OFFSCREEN_NOTE)
def test_first_run_wizard_saves_settings_token_and_a_hashed_pin(
    qtbot: QtBot, window: MainWindow, backend: FakeBackend
) -> None:
    assert not window.mode.has_pin
    assert window.open_first_run()
    wizard = window.first_run
    assert wizard is not None
    wizard.name.setText("Raum 1.12")
    wizard.hub_url.setText("https://hub.example.org")
    wizard.hub_token.setText("t0ken")
    wizard.rows.setValue(4)
    wizard.columns.setValue(8)
    wizard.calibrate.setChecked(False)
    wizard.pin_page.pin.setText("2468")
    wizard.pin_page.again.setText("2467")
    assert not wizard.pin_page.isComplete()  # the two PINs differ
    wizard.pin_page.again.setText("2468")
    assert wizard.pin_page.isComplete()
    wizard.accept()
    values = backend.settings.values
    assert values["ui.station_name"] == "Raum 1.12"
    assert values["ui.hub_url"] == "https://hub.example.org"
    assert (values["ui.cart_rows"], values["ui.cart_columns"]) == ("4", "8")
    assert "t0ken" not in values.values()  # the token goes to the secret store
    qtbot.waitUntil(lambda: backend.secrets_set == {"hub-token": "t0ken"}, timeout=5000)
    assert "2468" not in values[PIN_SETTING]
    assert window.mode.enter("2468")
    assert window.windowTitle().endswith("Raum 1.12")


@pytest.mark.qt_log_ignore(OFFSCREEN_NOTE)
def test_technician_stores_a_blueprint_secret_through_the_runtime(
    qtbot: QtBot, window: MainWindow, backend: FakeBackend
) -> None:
    window.mode.set_pin("4711")
    assert window.mode.enter("4711")
    assert window.open_secrets()
    dialog = window.secret_dialog
    assert dialog is not None
    dialog.name.setText("bad name!")
    dialog.value.setText("x")
    dialog._on_save_clicked()
    assert backend.secrets_set == {}
    assert dialog.isVisible()
    dialog.name.setText("wlan-schule")
    dialog.value.setText("geheim")
    dialog._on_save_clicked()
    qtbot.waitUntil(lambda: backend.secrets_set == {"wlan-schule": "geheim"}, timeout=5000)
    assert "geheim" not in backend.settings.values.values()
