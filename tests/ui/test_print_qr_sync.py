"""Label printing with a preview, the Android enrollment QR full-screen, and the sync panel."""

from __future__ import annotations

import datetime as dt
import io
import json
import math
from collections.abc import Iterator
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image
from PySide6.QtCore import QBuffer, QIODevice
from PySide6.QtGui import QImage
from PySide6.QtPrintSupport import QPrinter, QPrintPreviewWidget
from pytestqt.qtbot import QtBot

from station.jobs.events import JobEvent, JobState
from station.labels.android_qr import ADMIN_COMPONENT_NAME, PACKAGE_DOWNLOAD_LOCATION
from station.labels.sheets import get_sheet
from station.store import StepStatus, Store
from station.sync.relay import SETTING_LAST_ERROR, SETTING_LAST_ERROR_AT, SETTING_LAST_SUCCESS
from station.sync.targets import DeviceResult, hub_entry
from station.ui.printing import LABEL_PRINTER, SHEET_SETTING, LabelPreview
from station.ui.window import MainWindow, widget_texts
from tests.ui.fakes import FakeBackend, job
from tests.ui.test_i18n import _english_in

# The offscreen platform notes that it cannot pass size hints on when a dialog is shown.
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")

# Slots in the order the engine happens to finish them (not slot order).
FINISHED = [7, 2, 11, 1, 5, 3]


@pytest.fixture
def backend(tmp_path: Path) -> FakeBackend:
    """A cart of 30 slots, so a cart's labels fill more than one sheet."""
    return FakeBackend(tmp_path, slots=30)


def _pil(image: QImage) -> Image.Image:
    buf = QBuffer()
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buf, "PNG")
    return Image.open(io.BytesIO(bytes(buf.data().data()))).convert("L")


def _decode(image: Image.Image) -> list[str]:
    """QR texts top to bottom, left to right (labels sit on a grid)."""
    found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    spots = []
    for r in found:
        p = r.position
        spots.append(
            ((p.top_left.y + p.bottom_right.y) / 2, (p.top_left.x + p.bottom_right.x) / 2, r.text)
        )
    spots.sort()
    rows: list[list[tuple[float, float, str]]] = []
    for spot in spots:
        if rows and abs(rows[-1][0][0] - spot[0]) < 20:
            rows[-1].append(spot)
        else:
            rows.append([spot])
    return [text for row in rows for _y, _x, text in sorted(row, key=lambda s: s[1])]


def _finish_cart(window: MainWindow, slots: list[int]) -> None:
    events: list[JobEvent] = [
        job(f"ios:{n}", JobState.DONE, slot=n, tag=f"SEG042-{n:05}") for n in slots
    ]
    events.append(job("ios:9", JobState.FAILED, slot=9, tag="SEG042-00009"))
    window.model.apply(events)
    window.model.flush()


def _preview(qtbot: QtBot, window: MainWindow) -> tuple[LabelPreview, QPrintPreviewWidget]:
    qtbot.waitUntil(lambda: window.label_preview is not None, timeout=10000)
    dialog = window.label_preview
    assert dialog is not None
    qtbot.addWidget(dialog)
    qtbot.waitExposed(dialog)
    widget = dialog.findChild(QPrintPreviewWidget)
    assert widget is not None
    return dialog, widget


def _url(slot: int) -> str:
    return f"https://inventar.example/a/SEG042-{slot:05}"


def test_print_labels_previews_the_cart_in_slot_order_on_sheets(
    qtbot: QtBot, window: MainWindow, backend: FakeBackend
) -> None:
    window.settings.set_setting(SHEET_SETTING, "L7160")  # 21 labels a sheet
    slots = list(range(1, 26))
    window.model.apply(
        [job(f"ios:{n}", JobState.DONE, slot=n, tag=f"SEG042-{n:05}") for n in slots]
    )
    window.model.flush()
    window.print_action.trigger()
    dialog, widget = _preview(qtbot, window)
    per_page = get_sheet("L7160").per_page
    assert widget.pageCount() == math.ceil(len(slots) / per_page) == 2
    assert [j["slot"] for j in backend.label_requests[-1]] == slots
    decoded = []
    for page in range(dialog.pages.page_count):
        decoded += _decode(_pil(dialog.pages.page_image(page, dpi=200)))
    assert decoded == [_url(n) for n in slots]
    # What the preview widget shows is the same drawing: its first page scans too.
    widget.setViewMode(QPrintPreviewWidget.ViewMode.SinglePageView)
    widget.setZoomMode(QPrintPreviewWidget.ZoomMode.FitInView)
    dialog.resize(2400, 3200)
    for page, wanted in ((1, slots[:per_page]), (2, slots[per_page:])):
        widget.setCurrentPage(page)
        qtbot.wait(100)
        assert _decode(_pil(widget.grab().toImage())) == [_url(n) for n in wanted]
    dialog.reject()


def test_a_label_printer_gets_one_label_a_page(
    qtbot: QtBot, window: MainWindow, backend: FakeBackend
) -> None:
    window.settings.set_setting(SHEET_SETTING, LABEL_PRINTER)
    window.settings.set_setting("labels.label_mm", "62x29")
    _finish_cart(window, FINISHED)
    window.print_labels()
    dialog, widget = _preview(qtbot, window)
    assert widget.pageCount() == len(FINISHED)
    layout = dialog.printer().pageLayout()
    assert layout.fullRect().width() == pytest.approx(62, abs=0.5)
    assert layout.fullRect().height() == pytest.approx(29, abs=0.5)
    pages = [_decode(_pil(dialog.pages.page_image(i, dpi=300))) for i in range(widget.pageCount())]
    assert pages == [[_url(n)] for n in sorted(FINISHED)]
    dialog.reject()
    assert not window.printed


def test_a_helper_prints_the_cart_and_the_checklist_ticks_off(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    assert not window.mode.active
    _finish_cart(window, FINISHED)
    window.print_labels()
    dialog, widget = _preview(qtbot, window)
    assert widget.pageCount() == 1  # six labels on one L4736 sheet
    pdf = tmp_path / "printed.pdf"
    dialog.printer().setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    dialog.printer().setOutputFileName(str(pdf))
    widget.print()  # what the dialog's Print button does once a printer is chosen
    dialog.accept()
    assert pdf.read_bytes().startswith(b"%PDF")
    assert window.printed
    assert {i.key: i.done for i in window.checklist.shown}["labels"]


def test_print_label_again_for_one_tablet(
    qtbot: QtBot, window: MainWindow, backend: FakeBackend
) -> None:
    _finish_cart(window, FINISHED)
    window.view.setCurrentIndex(window.model.index(8))  # slot 9 failed: nothing to print
    assert not window.reprint_button.isEnabled()
    window.view.setCurrentIndex(window.model.index(4))  # slot 5
    assert window.reprint_button.isEnabled()
    window.reprint_button.click()
    dialog, widget = _preview(qtbot, window)
    assert [j["slot"] for j in backend.label_requests[-1]] == [5]
    assert widget.pageCount() == 1
    assert _decode(_pil(dialog.pages.page_image(0))) == [_url(5)]
    dialog.accept()
    assert not window.printed  # one tablet again is not the cart's labels


def test_android_enrollment_qr_is_shown_full_screen_and_scans(
    qtbot: QtBot, window: MainWindow, backend: FakeBackend
) -> None:
    payload = {
        ADMIN_COMPONENT_NAME: "de.schule.mdm/.AdminReceiver",
        PACKAGE_DOWNLOAD_LOCATION: "https://mdm.schule.example/owner.apk",
        "android.app.extra.PROVISIONING_LOCALE": "de_DE",
    }
    backend.android_payload = payload
    window.android_qr_action.trigger()
    dialog = window.android_qr
    assert dialog is not None
    qtbot.addWidget(dialog)
    assert dialog.isFullScreen()
    qtbot.waitUntil(lambda: not dialog.pixmap.isNull(), timeout=10000)
    texts = zxingcpp.read_barcodes(_pil(dialog.pixmap.toImage()))
    assert [json.loads(r.text) for r in texts] == [payload]
    shown = dialog.code.pixmap()
    assert json.loads(zxingcpp.read_barcodes(_pil(shown.toImage()))[0].text) == payload
    dialog.accept()
    qtbot.waitUntil(lambda: window.android_qr is None, timeout=5000)


def test_android_enrollment_qr_says_what_is_missing(
    qtbot: QtBot, window: MainWindow, backend: FakeBackend
) -> None:
    window.show_android_qr()
    dialog = window.android_qr
    assert dialog is not None
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: "[android.provisioning]" in dialog.help.text(), timeout=10000)
    assert dialog.pixmap.isNull()
    assert "cannot be made" in dialog.help.text()
    dialog.reject()


@pytest.fixture
def outbox_store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "station.db") as store:
        run = store.start_run("bp", "hash")
        for serial in ("DMP1", "DMP2", "DMP3"):
            device = store.upsert_device("ios", serial, udid=serial, model="iPad13,1")
            result = DeviceResult(
                serial=serial,
                platform="ios",
                step="enroll",
                status="done",
                recorded_at=dt.datetime(2026, 11, 29, 8, 0, tzinfo=dt.UTC),
                school="Realschule Nord",
            )
            store.record_step_result(
                run.id, device.id, "enroll", StepStatus.DONE, outbox=[hub_entry(result)]
            )
        rows = store.outbox()
        store.outbox_failed(rows[0].id, "hub said 422", retry_at=None, dead=True)
        now = dt.datetime.now(dt.UTC)
        store.set_setting(SETTING_LAST_SUCCESS, (now - dt.timedelta(minutes=5)).isoformat())
        store.set_setting(SETTING_LAST_ERROR, "hub said 422")
        store.set_setting(SETTING_LAST_ERROR_AT, (now - dt.timedelta(seconds=30)).isoformat())
        yield store


def test_sync_panel_shows_pending_dead_and_errors_refreshed_by_its_timer(
    qtbot: QtBot, window: MainWindow, backend: FakeBackend, outbox_store: Store
) -> None:
    panel = window.sync_panel
    assert panel.timer.objectName() == "sync-status-timer"
    assert panel.timer.isActive()
    backend.store = outbox_store
    reads = backend.status_reads
    panel.timer.setInterval(20)
    qtbot.waitUntil(lambda: backend.status_reads >= reads + 3, timeout=10000)
    qtbot.waitUntil(lambda: panel.status is not None and panel.status.pending == 2, timeout=10000)
    text = panel.summary.text()
    assert "2 waiting" in text
    assert "5 min ago" in text
    assert "1 need a person" in text
    assert panel.error.text().startswith("Last sync error (")
    assert "hub said 422" in panel.error.text()
    window.close()
    assert not panel.timer.isActive()


@pytest.mark.usefixtures("german")
def test_the_new_dialogs_and_the_sync_panel_speak_german(
    qtbot: QtBot, window: MainWindow, backend: FakeBackend, outbox_store: Store
) -> None:
    backend.store = outbox_store
    window.sync_panel.timer.setInterval(20)
    qtbot.waitUntil(lambda: window.sync_panel.status is not None, timeout=10000)
    qtbot.waitUntil(lambda: window.sync_panel.status.pending == 2, timeout=10000)  # type: ignore[union-attr]
    panel = [(n, t.replace("hub said 422", "")) for n, t in widget_texts(window.sync_panel)]
    assert any("2 wartend" in text for _n, text in panel)
    window.show_android_qr()
    dialog = window.android_qr
    assert dialog is not None
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: "[android.provisioning]" in dialog.help.text(), timeout=10000)
    assert dialog.help.text().startswith("Der Einrichtungscode kann nicht erstellt werden")
    shown = [(n, t) for n, t in widget_texts(dialog) if n != "android-qr-help"]
    texts = [*panel, *shown, ("reprint", window.reprint_button.text())]
    assert _english_in(texts) == []
    dialog.reject()
    _finish_cart(window, FINISHED)
    window.print_labels()
    preview, _widget = _preview(qtbot, window)
    assert preview.windowTitle() == "Etiketten-Vorschau"
    preview.reject()


def test_labels_that_cannot_be_laid_out_are_explained_not_previewed(
    qtbot: QtBot, window: MainWindow
) -> None:
    window.settings.set_setting(SHEET_SETTING, LABEL_PRINTER)
    window.settings.set_setting("labels.label_mm", "20x8")  # no room for QR and tag side by side
    _finish_cart(window, FINISHED)
    with qtbot.waitSignal(window.bridge.labels_ready, timeout=10000):
        window.print_labels()
    qtbot.waitUntil(lambda: "cannot be laid out" in window.statusBar().currentMessage())
    assert "20 x 8 mm" in window.statusBar().currentMessage()
    assert window.label_preview is None
