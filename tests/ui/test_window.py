"""The window over a runtime thread: blueprints, run control, checklist, detail, modes, sound."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from station.jobs.events import EventBus, EventType, JobEvent, JobState
from station.ui.runtime import Runtime
from station.ui.technician import PIN_SETTING, check_pin
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
    qtbot.waitUntil(lambda: _checklist(window)["trust"][0], timeout=5000)
    items = _checklist(window)
    assert items["usb_debugging"][0]
    assert items["failures"] == (
        False,
        "Failed: slots 3. Check the tablet and its cable, then retry it",
    )
    assert items["unplug"] == (False, "Unplug the finished tablets: slots 1")
    assert items["labels"] == (False, "Print the labels (1 ready) and stick them on in slot order")

    with qtbot.waitSignal(window.bridge.labels_ready, timeout=5000):
        window.print_action.trigger()
    assert [j["slot"] for j in demo_backend.label_requests[-1]] == [1]
    qtbot.waitUntil(lambda: window.label_preview is not None, timeout=5000)
    assert window.label_preview is not None
    window.label_preview.accept()  # printed from the preview
    assert _checklist(window)["labels"][0]
    _finish(demo_backend, window.runtime)
    qtbot.waitSignal(window.run_finished, timeout=5000).wait()


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
    seen_threads: set[str] = set()
    batches: list[int] = []

    def on_events(events: list[JobEvent]) -> None:
        seen_threads.add(threading.current_thread().name)
        batches.append(len(events))

    runtime.bridge.events.connect(on_events)

    async def script(bus: EventBus) -> None:
        for step in range(50):
            for n in range(1, 121):
                bus.publish(progress(f"k{n}", n, step / 50))
        bus.publish(job("k1", JobState.DONE, slot=1))

    backend.script = script
    runtime.start_run(tmp_path / "x.toml")
    qtbot.waitUntil(lambda: sum(batches) >= 121, timeout=10000)
    assert seen_threads == {threading.main_thread().name}
    # The engine's subscription keeps the newest progress per job: 6000 events -> ~121.
    assert sum(batches) < 1000
    _finish(backend, runtime)
    qtbot.waitSignal(runtime.bridge.run_ended, timeout=5000).wait()


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
