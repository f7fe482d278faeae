"""A cart's labels on an emulated Brother QL over USB, through brother_ql's own pyusb backend."""

from __future__ import annotations

import errno
from dataclasses import dataclass
from pathlib import Path

import pytest
import usb.core
from brother_ql.backends.helpers import send, status
from brother_ql.conversion import convert
from brother_ql.raster import BrotherQLRaster
from brother_ql.reader import chunker, interpret_response
from PIL import Image, ImageOps

from station.errors import PrinterError
from station.labels.brother import (
    DPI,
    LABELS,
    BrotherPrinter,
    brother_instructions,
    find_usb_printer,
)
from station.labels.model import render_label_image
from station.labels.queue import PrintQueue
from station.sim.usb.backend import SimUsbBackend, get_backend
from station.sim.usb.printer import MEDIA, BrotherQlPrinter, Media, PrintedPage
from station.sim.usb.topology import PortRef, UsbDescriptor, UsbTopology
from tests.labels.helpers import decode_in_reading_order, make_labels, payloads

pytestmark = pytest.mark.timeout(60)

QL820 = "usb://0x04f9:0x209d"
TABLET = UsbDescriptor(
    0x04E8, 0x6860, "samsung", "SM-X200", "R52W1234ABC",
    interfaces=((0x06, 0x01, 0x01), (0xFF, 0x42, 0x01)),
)  # fmt: skip
ESC_INIT = b"\x1b\x40"
SWITCH_RASTER = b"\x1b\x69\x61\x01"
STATUS_REQUEST = b"\x1b\x69\x53"
PRINT_INFO = b"\x1b\x69\x7a"


@dataclass
class Bench:
    """A cart's USB bus with a tablet and a label printer on it."""

    topology: UsbTopology
    snapshot: Path
    printer: BrotherQlPrinter
    port: PortRef
    backend: SimUsbBackend

    def unplug_printer(self) -> None:
        self.topology.unplug(self.port)
        self.topology.write_snapshot(self.snapshot)

    def brother(self, label: str = "62", identifier: str = QL820) -> BrotherPrinter:
        return BrotherPrinter(identifier, label, usb_backend=self.backend)


def _bench(tmp_path: Path, printer: BrotherQlPrinter) -> Bench:
    topology = UsbTopology(hubs=2)
    ports = topology.hub_ports()
    topology.plug(ports[0], TABLET)
    port = ports[-1]  # the printer hangs on the second hub's last port
    topology.plug(port, printer.descriptor())
    snapshot = tmp_path / "usb.json"
    topology.write_snapshot(snapshot)
    return Bench(topology, snapshot, printer, port, get_backend(snapshot, {port.path: printer}))


@pytest.fixture
def bench(tmp_path: Path) -> Bench:
    return _bench(tmp_path, BrotherQlPrinter("QL-820NWB", MEDIA["62"]))


def _printed_image(page: PrintedPage) -> Image.Image:
    """What the head put on the tape: rows of 720 dots, 1 = black, mirrored as sent."""
    raw = b"".join(page.rows)
    image = Image.frombytes("1", (720, len(page.rows)), raw).convert("L")
    return ImageOps.invert(image).transpose(Image.Transpose.FLIP_LEFT_RIGHT)


def test_the_emulated_printer_is_a_usb_printer_brother_ql_can_use(bench: Bench) -> None:
    dev = usb.core.find(idVendor=0x04F9, backend=bench.backend)
    assert dev is not None
    assert (dev.idProduct, dev.speed) == (0x209D, 2)
    assert usb.util.get_string(dev, dev.iProduct) == "QL-820NWB"
    intf = dev.get_active_configuration()[(0, 0)]
    assert (intf.bInterfaceClass, intf.bInterfaceSubClass, intf.bInterfaceProtocol) == (7, 1, 2)
    endpoints = {(ep.bEndpointAddress, ep.bmAttributes, ep.wMaxPacketSize) for ep in intf}
    assert endpoints == {(0x81, 0x02, 64), (0x02, 0x02, 64)}
    assert dev.is_kernel_driver_active(0)  # usblp has it until brother_ql detaches it

    result, raw = status("QL-820NWB", dev, backend_identifier="pyusb")
    assert len(raw) == 32
    assert raw[:5] == bytes([0x80, 0x20, 0x42, 0x34, 0x41])
    assert result["model_name"] == "QL-820NWB"
    assert result["status_type"] == "Reply to status request"
    assert (result["media_type"], result["media_width"], result["media_length"]) == (
        "Continuous length tape",
        62,
        0,
    )
    assert result["identified_media"].identifier == "62"
    assert result["errors"] == []
    # brother_ql put the kernel driver back when it let go of the printer.
    assert dev.is_kernel_driver_active(0)


def test_a_carts_labels_print_over_usb_in_slot_order(bench: Bench) -> None:
    labels = make_labels(30)
    queue_printer = bench.brother("62")
    queue_printer.print_labels(labels)

    pages = bench.printer.pages
    assert len(pages) == 30
    for page in pages:
        assert (page.media_kind, page.width_mm, page.length_mm) == (0x0A, 62, 0)
        assert page.raster_count == len(page.rows) == 342
        assert all(len(row) == 90 for row in page.rows)
        assert (page.autocut, page.cut_at_end, page.last) == (True, True, True)
    # The wire: brother_ql's status request, then one job per label, as brother_ql built it.
    jobs = [brother_instructions([label], "62") for label in labels]
    assert bytes(bench.printer.received) == b"\x00" * 400 + STATUS_REQUEST + b"".join(jobs)
    assert all(j.startswith(SWITCH_RASTER + b"\x00" * 400 + ESC_INIT + SWITCH_RASTER) for j in jobs)
    commands = chunker(b"".join(jobs), raise_exception=True)
    info = [c for c in commands if c.startswith(PRINT_INFO)]
    assert len(info) == 30
    assert {(c[4], c[5], c[6]) for c in info} == {(0x0A, 62, 0)}  # kind, width mm, length
    assert [c for c in commands if c in (b"\x0c", b"\x1a")] == [b"\x1a"] * 30
    # What came out of the printer still scans, label by label, in slot order.
    assert [decode_in_reading_order(_printed_image(p)) for p in pages] == [
        [payload] for payload in payloads(labels)
    ]


def test_die_cut_labels_on_a_die_cut_roll(tmp_path: Path) -> None:
    bench = _bench(tmp_path, BrotherQlPrinter("QL-700", MEDIA["29x90"]))
    labels = make_labels(4)
    bench.brother("29x90", "usb://0x04f9:0x2042").print_labels(labels)
    pages = bench.printer.pages
    assert [(p.media_kind, p.width_mm, p.length_mm, len(p.rows)) for p in pages] == [
        (0x0B, 29, 90, 991)
    ] * 4
    assert [decode_in_reading_order(_printed_image(p)) for p in pages] == [
        [payload] for payload in payloads(labels)
    ]


def test_wrong_roll_is_refused_before_printing_and_the_labels_stay_queued(
    tmp_path: Path,
) -> None:
    bench = _bench(tmp_path, BrotherQlPrinter("QL-820NWB", MEDIA["29x90"]))
    queue = PrintQueue(tmp_path / "queue", bench.brother("62"))
    labels = make_labels(3)
    with pytest.raises(PrinterError) as info:
        queue.submit(labels)
    assert info.value.message == (
        f"printer {QL820}: has 29 x 90 mm die-cut labels loaded, "
        "but the labels are laid out for 62 mm endless tape"
    )
    assert "Load the 62 mm endless tape roll" in info.value.hint
    assert bench.printer.pages == []
    assert [job.labels for job in queue.pending()] == [tuple(labels)]

    bench.printer.load(Media(29))  # 29 mm endless: the width is still wrong
    with pytest.raises(PrinterError, match="has 29 mm endless tape loaded"):
        queue.retry_pending()
    bench.printer.load(MEDIA["62"])
    printed = queue.retry_pending()
    assert [job.labels for job in printed] == [tuple(labels)]
    assert queue.pending() == []
    assert len(bench.printer.pages) == 3


@pytest.mark.parametrize(
    ("setup", "problem"),
    [
        (lambda p: p.load(None), "has no tape or labels loaded"),
        (lambda p: p.set_cover(True), "reports: the cover is open"),
    ],
)
def test_no_roll_or_open_cover_is_a_clear_error(
    bench: Bench, tmp_path: Path, setup: object, problem: str
) -> None:
    setup(bench.printer)  # type: ignore[operator]
    queue = PrintQueue(tmp_path / "queue", bench.brother("62"))
    with pytest.raises(PrinterError) as info:
        queue.submit(make_labels(2))
    assert info.value.message == f"printer {QL820}: {problem}"
    assert "the labels are kept" in info.value.hint
    assert len(queue.pending()) == 1
    assert bench.printer.pages == []


def test_the_printer_reporting_an_error_mid_job_keeps_the_job(
    tmp_path: Path,
) -> None:
    bench = _bench(tmp_path, BrotherQlPrinter("QL-820NWB", MEDIA["62"], remaining=1))
    queue = PrintQueue(tmp_path / "queue", bench.brother("62"))
    labels = make_labels(3)
    with pytest.raises(PrinterError) as info:
        queue.submit(labels)
    assert info.value.message == (
        f"printer {QL820}: reported the tape is used up or stuck after 1 of 3 labels"
    )
    assert len(bench.printer.pages) == 1  # the roll ran out after the first label
    # Only the labels that did not come out wait for Retry.
    assert [job.labels for job in queue.pending()] == [tuple(labels[1:])]
    bench.printer.load(MEDIA["62"])
    queue.retry_pending()
    assert [decode_in_reading_order(_printed_image(p)) for p in bench.printer.pages] == [
        [payload] for payload in payloads(labels)
    ]


def test_printer_not_found(bench: Bench, tmp_path: Path) -> None:
    with pytest.raises(PrinterError) as info:
        find_usb_printer("usb://0x04f9:0x2042", bench.backend)
    assert info.value.message == (
        "printer usb://0x04f9:0x2042: is not connected by USB "
        "(connected: usb://0x04f9:0x209d/000G9Z123456)"
    )
    assert find_usb_printer(f"{QL820}/000G9Z123456", bench.backend).idProduct == 0x209D
    with pytest.raises(PrinterError, match="is not connected by USB"):
        find_usb_printer(f"{QL820}/OTHER", bench.backend)

    bench.unplug_printer()  # switched off
    queue = PrintQueue(tmp_path / "queue", bench.brother("62"))
    with pytest.raises(PrinterError) as off:
        queue.submit(make_labels(1))
    assert off.value.message == f"printer {QL820}: is not connected by USB"
    assert "Switch the printer on" in off.value.hint
    assert len(queue.pending()) == 1


def test_editor_lite_mode_is_named(tmp_path: Path) -> None:
    topology = UsbTopology(hubs=1)
    drive = UsbDescriptor(
        0x04F9, 0x20A3, "Brother", "QL-820NWB", "000G9Z123456", interfaces=((0x08, 0x06, 0x50),)
    )
    topology.plug(topology.hub_ports()[0], drive)
    snapshot = tmp_path / "usb.json"
    topology.write_snapshot(snapshot)
    with pytest.raises(PrinterError, match="Editor Lite mode") as info:
        find_usb_printer(QL820, get_backend(snapshot))
    assert "Editor Lite button" in info.value.hint


def test_garbage_and_a_torn_job_do_not_take_the_printer_down(bench: Bench) -> None:
    dev = find_usb_printer(QL820, bench.backend)
    dev.detach_kernel_driver(0)  # as brother_ql does
    dev.write(0x02, b"\xff\xfeGARBAGE\x1b\x69\x53")
    answer = interpret_response(bytes(dev.read(0x81, 32)))
    assert answer["status_type"] == "Error occurred"
    assert answer["errors"] == ["Transmission / Communication error"]
    # The status request after the garbage is still answered, with the error in it.
    answer = interpret_response(bytes(dev.read(0x81, 32)))
    assert answer["status_type"] == "Reply to status request"
    assert answer["errors"] == ["Transmission / Communication error"]
    assert bytes(dev.read(0x81, 32)) == b""  # nothing more to say: a zero-length packet
    dev.write(0x02, STATUS_REQUEST)
    with pytest.raises(usb.core.USBError) as overflow:
        dev.read(0x81, 16)  # a short read cannot take the 32-byte block
    assert overflow.value.errno == errno.EOVERFLOW
    # The invalidate bytes before the station's next status request clear the error.
    first = make_labels(1)
    bench.brother("62").print_labels(first)
    assert len(bench.printer.pages) == 1

    labels = make_labels(2)
    job = brother_instructions(labels, "62")
    dev.write(0x02, job[: len(job) // 2 + 7])  # the host vanished mid-line
    usb.util.dispose_resources(dev)
    result = send(job, dev, backend_identifier="pyusb")
    assert result["outcome"] == "printed"
    assert result["printer_state"]["errors"] == []
    # The torn job tore inside its first label, which never printed: the invalidate bytes of
    # the next job complete the torn raster line and ESC @ starts afresh.
    assert len(bench.printer.pages) == 3
    assert [decode_in_reading_order(_printed_image(p)) for p in bench.printer.pages] == [
        [payload] for payload in payloads([*first, *labels])
    ]


def test_bulk_transfers_need_the_interface_and_a_present_device(bench: Bench) -> None:
    dev = find_usb_printer(QL820, bench.backend)
    with pytest.raises(usb.core.USBError) as busy:
        dev.write(0x02, STATUS_REQUEST)  # usblp still holds the interface
    assert busy.value.errno == 16
    dev.detach_kernel_driver(0)
    assert dev.write(0x02, b"\x00" * 400 + STATUS_REQUEST) == 403
    assert len(dev.read(0x81, 64)) == 32
    tablet = usb.core.find(idVendor=0x04E8, backend=bench.backend)
    with pytest.raises(usb.core.USBError) as io_error:
        tablet.write(0x01, b"x")  # the tablets' bulk endpoints stay closed, as before
    assert io_error.value.errno == 5
    bench.unplug_printer()
    with pytest.raises(usb.core.USBError) as gone:
        dev.read(0x81, 32)
    assert gone.value.errno == 19
    usb.util.dispose_resources(dev)


def test_compressed_raster_lines_print_the_same(bench: Bench) -> None:
    labels = make_labels(2)
    images = [render_label_image(label, LABELS["62"].size, DPI) for label in labels]
    dev = find_usb_printer(QL820, bench.backend)
    for compress in (False, True):
        qlr = BrotherQLRaster("QL-820NWB")
        job = convert(qlr, images, "62", rotate=0, cut=True, compress=compress)
        assert (b"M\x02" in job) is compress
        result = send(job, dev, backend_identifier="pyusb")
        assert result["outcome"] == "printed"
    plain, packed = bench.printer.pages[:2], bench.printer.pages[2:]
    assert [p.rows for p in packed] == [p.rows for p in plain]
    assert [decode_in_reading_order(_printed_image(p)) for p in packed] == [
        [payload] for payload in payloads(labels)
    ]
