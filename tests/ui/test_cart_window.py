"""The window on the real engine and drivers over a small virtual cart (offscreen, in process)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image
from PySide6.QtCore import QBuffer, QIODevice
from PySide6.QtPrintSupport import QPrinter, QPrintPreviewWidget
from pytestqt.qtbot import QtBot

from station.jobs.events import JobState
from station.ui.runtime import EventBridge, Runtime
from station.ui.window import MainWindow
from tests.ui.cart_backend import VirtualCartBackend


@pytest.fixture
def cart_window(qtbot: QtBot, tmp_path: Path) -> Iterator[tuple[MainWindow, VirtualCartBackend]]:
    backend = VirtualCartBackend(tmp_path, ipads=2, androids=2, time_scale=0.002, timeout=90)
    runtime = Runtime(backend, EventBridge())
    runtime.start()
    window = MainWindow(runtime)
    window.resize(1600, 1000)
    try:
        yield window, backend
    finally:
        runtime.shutdown()
        window.deleteLater()


@pytest.mark.timeout(180)
@pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")
def test_tiles_checklist_and_detail_follow_a_real_run(
    qtbot: QtBot, cart_window: tuple[MainWindow, VirtualCartBackend]
) -> None:
    window, backend = cart_window
    states: list[tuple[int, str]] = []
    window.model.state_changed.connect(lambda row, old, new: states.append((row, new)))
    with qtbot.waitSignal(window.bridge.blueprint_loaded, timeout=30000):
        window.choose_blueprint(backend.blueprint_path)
    with qtbot.waitSignal(window.run_finished, timeout=150000) as blocker:
        window.run_control.start_button.click()
    result = blocker.args[0]
    assert result.ok, result.jobs

    slots = window.model.slots()
    assert [s.state for s in slots[:4]] == [JobState.DONE] * 4
    assert [s.platform for s in slots[:4]] == ["ios", "ios", "android", "android"]
    by_serial = {j["serial"]: j for j in result.jobs}
    for s in slots[:4]:
        assert s.asset_tag == by_serial[s.serial]["asset_tag"]
        assert s.slot == by_serial[s.serial]["slot"]
    # Every tile went through the engine's states, as the engine reported them.
    for row in range(4):
        seen = [new for r, new in states if r == row]
        assert JobState.RUNNING in seen
        assert seen[-1] == JobState.DONE
    # The iPads asked for Trust (the cart's person tapped it): the tiles said so.
    assert any(new == JobState.NEEDS_PERSON for r, new in states if r in (0, 1))

    items = {i.key: i for i in window.checklist.shown}
    assert items["trust"].done
    assert items["usb_debugging"].done
    assert items["failures"].done
    assert not items["labels"].done
    assert "4 ready" in items["labels"].text

    window.view.setCurrentIndex(window.model.index(0))
    timeline = window.detail.timeline
    steps = [timeline.topLevelItem(i).text(0) for i in range(timeline.topLevelItemCount())]
    assert "Supervising" in steps
    assert all(timeline.topLevelItem(i).text(2) != "…" for i in range(len(steps)))
    assert window.banner.kind == "done"

    # The preview shows the run's recorded labels in slot order; printing goes to a PDF here.
    with qtbot.waitSignal(window.bridge.labels_ready, timeout=30000) as ready:
        window.print_labels()
    labels = ready.args[1]
    assert [label.slot for label in labels] == [1, 2, 3, 4]
    assert [label.asset_tag for label in labels] == [s.asset_tag for s in slots[:4]]
    qtbot.waitUntil(lambda: window.label_preview is not None, timeout=10000)
    dialog = window.label_preview
    assert dialog is not None
    qtbot.addWidget(dialog)
    qtbot.waitExposed(dialog)
    preview = dialog.findChild(QPrintPreviewWidget)
    assert preview is not None
    assert preview.pageCount() == 1
    image = dialog.pages.page_image(0, dpi=300)
    buf = QBuffer()
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buf, "PNG")
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(bytes(buf.data().data()))))
    assert sorted(r.text for r in found) == sorted(label.qr_payload for label in labels)
    dialog.printer().setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    dialog.printer().setOutputFileName(str(backend.data_dir / "labels.pdf"))
    preview.print()
    dialog.accept()
    assert (backend.data_dir / "labels.pdf").read_bytes().startswith(b"%PDF")
    assert {i.key: i for i in window.checklist.shown}["labels"].done

    # One tablet again: only its label, from the run's records.
    window.view.setCurrentIndex(window.model.index(1))
    with qtbot.waitSignal(window.bridge.labels_ready, timeout=30000) as again:
        window.reprint_button.click()
    assert again.args[0] == "device"
    assert [(label.slot, label.serial) for label in again.args[1]] == [(2, slots[1].serial)]
