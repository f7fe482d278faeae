"""The window prints a cart's labels on the station's label printer (Brother QL over the
virtual cart's USB bus, a Zebra over TCP) through the print queue, and says in German what
is wrong when the printer is off or holds the wrong roll."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageOps
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from station.errors import InputError
from station.jobs.events import JobState
from station.labels.printer_setting import PrinterSetting
from station.labels.printers import open_printer
from station.labels.queue import PrintQueue
from station.sim.usb.backend import get_backend
from station.sim.usb.printer import MEDIA, BrotherQlPrinter, PrintedPage
from station.sim.usb.topology import UsbTopology
from station.ui.label_printer import (
    PRINTER_ADDRESS,
    PRINTER_DPMM,
    PRINTER_KIND,
    PRINTER_LABEL,
    PrintOutcome,
    read_setting,
)
from station.ui.runtime import Runtime
from station.ui.technician import LabelPrinterDialog
from station.ui.window import MainWindow
from tests.labels.helpers import decode_in_reading_order
from tests.ui.fakes import FakeBackend, job

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints"),
]

QL820 = "usb://0x04f9:0x209d"
FINISHED = [7, 2, 11, 1, 5]  # the order the engine happens to finish them in
WAIT = 60_000  # ms: only against hangs


class PrinterBackend(FakeBackend):
    """The fake station, with the real print queue and the real printers behind it."""

    def __init__(self, folder: Path) -> None:
        super().__init__(folder, slots=12)
        self.usb_backend: Any = None  # the virtual cart's pyusb backend, for usb:// printers
        self.queue_dir = folder / "print-queue"

    def label_queue(self, setting: PrinterSetting) -> PrintQueue:
        return PrintQueue(self.queue_dir, open_printer(setting, usb_backend=self.usb_backend))


class ZplServer:
    """A Zebra on 127.0.0.1 (port 0 unless given): collects what each connection sends."""

    def __init__(self, port: int = 0) -> None:
        self.sock = socket.create_server(("127.0.0.1", port))
        self.port = int(self.sock.getsockname()[1])
        self.jobs: list[bytes] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return  # closed
            with conn:
                chunks = []
                while chunk := conn.recv(65536):
                    chunks.append(chunk)
                self.jobs.append(b"".join(chunks))

    def close(self) -> None:
        self.sock.shutdown(socket.SHUT_RDWR)  # wakes the accept() (close alone does not)
        self.sock.close()
        self._thread.join(10)


@pytest.fixture
def backend(tmp_path: Path) -> PrinterBackend:
    return PrinterBackend(tmp_path)


@pytest.fixture
def window(qtbot: QtBot, runtime: Runtime) -> Iterator[MainWindow]:
    win = MainWindow(runtime)
    yield win
    win.label_printer.wait()
    win.deleteLater()


def _set_printer(window: MainWindow, kind: str, address: str, label: str = "") -> None:
    window.settings.set_setting(PRINTER_KIND, kind)
    window.settings.set_setting(PRINTER_ADDRESS, address)
    window.settings.set_setting(PRINTER_LABEL, label)
    window.settings.set_setting(PRINTER_DPMM, "8")
    window._update_print_actions()


def _finish_cart(window: MainWindow) -> None:
    events = [job(f"ios:{n}", JobState.DONE, slot=n, tag=f"SEG042-{n:05}") for n in FINISHED]
    events.append(job("ios:9", JobState.FAILED, slot=9, tag="SEG042-00009"))
    window.model.apply(events)
    window.model.flush()


def _print(qtbot: QtBot, window: MainWindow, action: str = "print_action") -> PrintOutcome:
    with qtbot.waitSignal(window.label_printer.finished, timeout=WAIT) as blocker:
        getattr(window, action).trigger()
    outcome = blocker.args[0]
    assert isinstance(outcome, PrintOutcome)
    QApplication.processEvents()  # the window's own slot for the same signal
    return outcome


def _url(slot: int) -> str:
    return f"https://inventar.example/a/SEG042-{slot:05}"


def _printed_image(page: PrintedPage) -> Image.Image:
    """What the emulated head put on the tape (rows of 720 dots, mirrored as sent)."""
    image = Image.frombytes("1", (720, len(page.rows)), b"".join(page.rows)).convert("L")
    return ImageOps.invert(image).transpose(Image.Transpose.FLIP_LEFT_RIGHT)


def _cart_bus(tmp_path: Path, printer: BrotherQlPrinter) -> Any:
    """The virtual cart's USB bus with the printer on its last hub port; its pyusb backend."""
    topology = UsbTopology(hubs=2)
    port = topology.hub_ports()[-1]
    topology.plug(port, printer.descriptor())
    snapshot = tmp_path / "usb.json"
    topology.write_snapshot(snapshot)
    return get_backend(snapshot, {port.path: printer})


def test_the_cart_prints_on_the_brother_ql_on_the_carts_usb_bus(
    qtbot: QtBot, window: MainWindow, backend: PrinterBackend, tmp_path: Path
) -> None:
    printer = BrotherQlPrinter("QL-820NWB", MEDIA["62"])
    backend.usb_backend = _cart_bus(tmp_path, printer)
    _set_printer(window, "brother", QL820, "62")
    assert window.paper_action.isVisible()
    _finish_cart(window)

    outcome = _print(qtbot, window)

    assert outcome.error is None
    assert outcome.printed == len(FINISHED)
    assert len(printer.pages) == len(FINISHED)  # one label a page, the roll's 62 mm
    assert {(p.width_mm, p.length_mm) for p in printer.pages} == {(62, 0)}
    # What came out of the emulated head scans, in slot order.
    assert [decode_in_reading_order(_printed_image(p)) for p in printer.pages] == [
        [_url(n)] for n in sorted(FINISHED)
    ]
    assert window.printed_jobs == {f"ios:{n}" for n in FINISHED}
    assert window.statusBar().currentMessage() == f"5 labels printed on {QL820}."
    assert backend.label_requests[-1] == [
        s.summary() for s in window.model.slots() if s.state == JobState.DONE
    ]
    assert not window.retry_print_action.isEnabled()
    assert window.label_preview is None  # no dialog on the way


def test_the_cart_prints_on_a_zebra_over_tcp(
    qtbot: QtBot, window: MainWindow, backend: PrinterBackend
) -> None:
    server = ZplServer()
    try:
        _set_printer(window, "zpl", f"tcp://127.0.0.1:{server.port}", "50x25")
        _finish_cart(window)
        outcome = _print(qtbot, window)
        # The Zebra's side: one job, one ^XA..^XZ format per label, in slot order.
        qtbot.waitUntil(lambda: len(server.jobs) == 1, timeout=WAIT)
    finally:
        server.close()
    assert outcome.error is None
    zpl = server.jobs[0].decode()
    assert zpl.count("^XA") == zpl.count("^XZ") == len(FINISHED)
    tags = [zpl.index(f"SEG042-{n:05}") for n in sorted(FINISHED)]
    assert tags == sorted(tags)
    assert window.printed_jobs == {f"ios:{n}" for n in FINISHED}


def test_a_printer_that_is_off_keeps_the_job_and_retry_prints_it(
    qtbot: QtBot, window: MainWindow, backend: PrinterBackend, german: object
) -> None:
    with socket.socket() as probe:  # a port where nothing listens: the printer is off
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    _set_printer(window, "zpl", f"tcp://127.0.0.1:{port}")
    _finish_cart(window)

    outcome = _print(qtbot, window)

    assert outcome.error is not None
    text = window.statusBar().currentMessage()
    assert text.startswith(f"Das hat nicht geklappt: Drucker 127.0.0.1:{port}: ")
    assert "lässt keine Verbindung zu" in text
    assert "5 Etiketten warten auf den Etikettendrucker" in text
    assert window.printed_jobs == set()
    assert window.retry_print_action.isEnabled()
    queue = backend.label_queue(PrinterSetting("zpl", f"tcp://127.0.0.1:{port}"))
    assert [len(j.labels) for j in queue.pending()] == [len(FINISHED)]

    server = ZplServer(port)  # switched on
    try:
        outcome = _print(qtbot, window, "retry_print_action")
        qtbot.waitUntil(lambda: len(server.jobs) == 1, timeout=WAIT)
    finally:
        server.close()
    assert outcome.error is None
    assert outcome.printed == len(FINISHED)
    assert server.jobs[0].decode().count("^XA") == len(FINISHED)
    assert queue.pending() == []
    assert window.printed_jobs == {f"ios:{n}" for n in FINISHED}
    assert (
        window.statusBar().currentMessage() == f"5 Etiketten auf zpl://127.0.0.1:{port} gedruckt."
    )
    assert not window.retry_print_action.isEnabled()


def test_the_wrong_roll_is_named_in_german_and_nothing_prints(
    qtbot: QtBot, window: MainWindow, backend: PrinterBackend, tmp_path: Path, german: object
) -> None:
    printer = BrotherQlPrinter("QL-820NWB", MEDIA["29x90"])
    backend.usb_backend = _cart_bus(tmp_path, printer)
    _set_printer(window, "brother", QL820, "62")
    _finish_cart(window)

    outcome = _print(qtbot, window)

    assert outcome.error is not None
    text = window.statusBar().currentMessage()
    assert "hat Einzeletiketten 29 x 90 mm eingelegt" in text
    assert "für Endlosband 62 mm angelegt" in text
    assert printer.pages == []
    assert window.printed_jobs == set()
    printer.load(MEDIA["62"])  # the right roll in: Retry prints the kept labels
    outcome = _print(qtbot, window, "retry_print_action")
    assert outcome.error is None
    assert len(printer.pages) == len(FINISHED)


def test_a_roll_running_out_counts_only_the_labels_that_came_out(
    qtbot: QtBot, window: MainWindow, backend: PrinterBackend, tmp_path: Path
) -> None:
    printer = BrotherQlPrinter("QL-820NWB", MEDIA["62"], remaining=2)
    backend.usb_backend = _cart_bus(tmp_path, printer)
    _set_printer(window, "brother", QL820, "62")
    _finish_cart(window)

    outcome = _print(qtbot, window)

    assert outcome.printed == 2
    assert outcome.pending_labels == 3
    assert len(printer.pages) == 2
    assert window.printed_jobs == {"ios:1", "ios:2"}  # slot order: the first two came out
    printer.load(MEDIA["62"])
    outcome = _print(qtbot, window, "retry_print_action")
    assert outcome.printed == 3
    assert window.printed_jobs == {f"ios:{n}" for n in FINISHED}
    assert [decode_in_reading_order(_printed_image(p)) for p in printer.pages] == [
        [_url(n)] for n in sorted(FINISHED)
    ]


def test_without_a_label_printer_the_dialog_prints(
    qtbot: QtBot, window: MainWindow, backend: PrinterBackend
) -> None:
    assert read_setting(window.settings) is None
    assert not window.paper_action.isVisible()
    _finish_cart(window)
    window.print_action.trigger()
    qtbot.waitUntil(lambda: window.label_preview is not None, timeout=WAIT)
    assert window.label_preview is not None
    qtbot.addWidget(window.label_preview)
    window.label_preview.reject()


def test_helper_mode_cannot_change_the_label_printer(
    qtbot: QtBot, window: MainWindow, backend: PrinterBackend
) -> None:
    assert not window.label_printer_action.isEnabled()
    assert not window.open_label_printer()
    assert window.label_printer_dialog is None
    assert "Only a technician" in window.statusBar().currentMessage()
    assert read_setting(window.settings) is None

    window.mode.set_pin("2468")
    assert window.mode.enter("2468")
    assert window.label_printer_action.isEnabled()
    assert window.open_label_printer()
    dialog = window.label_printer_dialog
    assert isinstance(dialog, LabelPrinterDialog)
    qtbot.addWidget(dialog)
    dialog.kind.setCurrentIndex(dialog.kind.findData("zpl"))
    dialog.address.setText("tcp://127.0.0.1:notaport")
    assert not dialog.save()
    assert dialog.message.text() == (
        "Zebra printer address 'tcp://127.0.0.1:notaport' is not tcp://HOST:PORT "
        "for example tcp://192.0.2.40:9100"
    )
    assert read_setting(window.settings) is None
    dialog.kind.setCurrentIndex(dialog.kind.findData("brother"))
    dialog.address.setText("usb://0x04f9")
    assert not dialog.save()
    assert "is not usb://VENDOR:PRODUCT[/SERIAL]" in dialog.message.text()
    dialog.address.setText(QL820)
    dialog.label.setText("29x90")
    assert dialog.save()
    assert read_setting(window.settings) == PrinterSetting("brother", QL820, "29x90", 8)

    window.mode.leave()
    assert not window.label_printer_action.isEnabled()
    assert not window.open_label_printer()


def test_the_cli_and_the_window_share_one_parser() -> None:
    with pytest.raises(InputError, match="Zebra label size 'big' is not WIDTHxHEIGHT"):
        open_printer(PrinterSetting("zpl", "tcp://127.0.0.1:9100", "big"))
    with pytest.raises(InputError, match="unknown Brother label '17'"):
        open_printer(PrinterSetting("brother", QL820, "17"))
    with pytest.raises(InputError, match="unknown label printer kind 'inkjet'"):
        open_printer(PrinterSetting("inkjet", "tcp://127.0.0.1"))
    zebra = open_printer(PrinterSetting("zpl", "192.0.2.40"))
    assert zebra.name == "zpl://192.0.2.40:9100"
