"""Brother QL raster for 62 mm endless and 29x90 die-cut, read back with brother_ql's own reader."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest
from brother_ql.reader import BrotherQLReader, chunker
from PIL import Image

from station.errors import InputError, PrinterError
from station.labels.brother import (
    BrotherPrinter,
    brother_instructions,
    send_brother,
)
from station.labels.model import LabelData
from station.labels.queue import PrintQueue
from tests.labels.helpers import Listener, decode_in_reading_order, free_port, make_labels, payloads

ESC_INIT = b"\x1b\x40"
SWITCH_RASTER = b"\x1b\x69\x61\x01"
MEDIA = b"\x1b\x69\x7a"
VARIOUS = b"\x1b\x69\x4d"  # bit 6: auto cut
RASTER = b"\x67"


def _pages(instructions: bytes, tmp_path: Path) -> list[Image.Image]:
    """What the printer would print: brother_ql's reader decodes the raster into images."""
    reader = BrotherQLReader(_file(instructions, tmp_path))
    reader.filename_fmt = str(tmp_path / "page{counter:04d}.png")
    try:
        reader.analyse()
    finally:
        reader.brother_file.close()
    return [
        Image.open(io.BytesIO(p.read_bytes())).convert("L")
        for p in sorted(tmp_path.glob("page*.png"))
    ]


def _file(data: bytes, tmp_path: Path) -> str:
    path = tmp_path / "job.bin"
    path.write_bytes(data)
    return str(path)


@pytest.mark.parametrize(
    ("label", "rows", "media_type", "width_mm"),
    [("62", 342, 0x0A, 62), ("29x90", 991, 0x0B, 29)],
)
def test_raster_for_both_tapes_without_a_printer(
    tmp_path: Path, label: str, rows: int, media_type: int, width_mm: int
) -> None:
    labels = make_labels(3)
    data = brother_instructions(labels, label, model="QL-820NWB")
    # Raster mode, invalidate (clears a half-received job), initialize, raster mode again.
    assert data.startswith(SWITCH_RASTER + b"\x00" * 400 + ESC_INIT + SWITCH_RASTER)
    instructions = chunker(data, raise_exception=True)
    raster = [i for i in instructions if i.startswith(RASTER)]
    assert len(raster) == rows * len(labels)
    assert all(len(i) == 3 + 90 for i in raster)  # 90 bytes = 720 dots per row, uncompressed
    media = [i for i in instructions if i.startswith(MEDIA)]
    assert len(media) == len(labels)
    for m in media:
        assert m[4] == media_type
        assert m[5] == width_mm
        assert int.from_bytes(m[7:11], "little") == rows
    various = [i for i in instructions if i.startswith(VARIOUS)]
    assert various
    assert all(v[3] & 0x40 for v in various)
    assert data.endswith(b"\x1a")  # print, last page

    pages = _pages(data, tmp_path)
    assert len(pages) == len(labels)
    # brother_ql's reader keeps the rows of earlier pages (one initialize per job), so the
    # last page is the whole printed strip: cut it into the labels as the cutter would.
    strip = pages[-1]
    assert strip.size == (720, rows * len(labels))
    printed = [strip.crop((0, i * rows, 720, (i + 1) * rows)) for i in range(len(labels))]
    # What the printer prints still scans: each label has its own QR, in order.
    assert [decode_in_reading_order(label) for label in printed] == [
        [payload] for payload in payloads(labels)
    ]


def test_unknown_tape_and_model_are_refused() -> None:
    with pytest.raises(InputError, match=r"unknown Brother label '17x54'.*62, 29x90"):
        brother_instructions(make_labels(1), "17x54")
    with pytest.raises(InputError, match="unknown Brother printer model 'QL-9999'"):
        brother_instructions(make_labels(1), "62", model="QL-9999")


async def test_network_backend_sends_the_raster_to_port_9100_style_listener(
    tmp_path: Path,
) -> None:
    listener = Listener()
    try:
        port = await listener.start()
        data = brother_instructions(make_labels(2), "29x90")
        status = await asyncio.to_thread(send_brother, data, f"tcp://127.0.0.1:{port}")
        # A probe connection (empty: it checks the printer answers) and the job itself.
        jobs = await asyncio.wait_for(listener.wait_jobs(), 10)
    finally:
        await listener.close()
    assert status["outcome"] == "sent"
    assert jobs == [data]


def test_brother_printer_off_keeps_labels_queued(tmp_path: Path) -> None:
    port = free_port()
    printer = BrotherPrinter(f"tcp://127.0.0.1:{port}", "62", timeout=5)
    queue = PrintQueue(tmp_path / "q", printer)
    labels: list[LabelData] = make_labels(2)
    with pytest.raises(PrinterError) as info:
        queue.submit(labels)
    assert "refused the connection" in str(info.value)
    assert "Switch the printer on" in info.value.hint
    assert [job.labels for job in queue.pending()] == [tuple(labels)]


def test_usb_printer_missing_is_a_printer_error() -> None:
    data = brother_instructions(make_labels(1), "62")
    with pytest.raises(PrinterError) as info:
        send_brother(data, "file:///nonexistent/usb/lp9")
    assert "USB cable" in info.value.hint
