"""Zebra ZPL: a cart's labels to a local TCP 'printer', escaping, a printer that is off."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from station.errors import PrinterError
from station.labels.model import LabelData
from station.labels.queue import PrintQueue
from station.labels.zpl import (
    ZplFilePrinter,
    ZplPrinter,
    escape_field,
    label_zpl,
    labels_zpl,
    send_zpl,
)
from tests.labels.helpers import SCHOOL, Listener, free_port, make_labels, payloads

_HEX = re.compile(rb"_([0-9A-Fa-f]{2})")


@pytest.fixture
async def listener() -> AsyncIterator[Listener]:
    server = Listener()
    yield server
    await server.close()


def _unescape(field: bytes) -> str:
    return _HEX.sub(lambda m: bytes([int(m.group(1), 16)]), field).decode("utf-8")


def _formats(data: bytes) -> list[bytes]:
    return [f.strip() for f in data.split(b"^XZ") if f.strip()]


def _qr_payload(fmt: bytes) -> str:
    m = re.search(rb"\^BQN,2,(\d+),M\^FH_\^FDMA,(.*?)\^FS", fmt, re.S)
    assert m is not None, fmt
    assert 1 <= int(m.group(1)) <= 10
    return _unescape(m.group(2))


def _text_fields(fmt: bytes) -> list[str]:
    return [_unescape(m) for m in re.findall(rb"\^A0N,\d+\^FH_\^FD(.*?)\^FS", fmt, re.S)]


async def test_a_carts_labels_reach_a_tcp_printer_as_zpl(
    listener: Listener, cart_labels: list[LabelData]
) -> None:
    port = await listener.start()
    data = labels_zpl(cart_labels)
    await asyncio.to_thread(send_zpl, "127.0.0.1", port, data, 10.0)
    assert await asyncio.wait_for(listener.wait_jobs(), 10) == [data]
    assert listener.jobs == [data]
    formats = _formats(listener.jobs[0])
    assert len(formats) == 30
    for fmt, label in zip(formats, cart_labels, strict=True):
        assert fmt.startswith(b"^XA\n^CI28\n^PW400\n^LL200\n")  # 50 x 25 mm at 8 dots/mm
        texts = _text_fields(fmt)
        assert texts[0] == label.asset_tag
        assert SCHOOL in texts  # sent as UTF-8, which ^CI28 selects
        assert f"Cart A · Slot {label.slot}" in texts
    assert "Bornhöved".encode() in listener.jobs[0]
    assert [_qr_payload(fmt) for fmt in formats] == payloads(cart_labels)


def test_zpl_command_characters_in_data_are_hex_escaped() -> None:
    label = LabelData(
        asset_tag="T^1~2_3",
        school_name="Schule ^XZ~JR",
        school_id="S",
        serial="SN_1",
        model="Model",
        cart="",
        slot=None,
        qr_payload="https://x.de/ht/T^1~2_3",
    )
    assert escape_field("a^b~c_d\n") == "a_5Eb_7Ec_5Fd_0A"
    fmt = label_zpl(label).encode()
    for field in re.findall(rb"\^FD(.*?)\^FS", fmt, re.S):
        assert b"^" not in field
        assert b"~" not in field
    assert _qr_payload(fmt) == "https://x.de/ht/T^1~2_3"
    assert _text_fields(fmt)[:2] == ["T^1~2_3", "Schule ^XZ~JR"]
    assert fmt.count(b"^XZ") == 1


def test_zpl_is_written_to_a_file(tmp_path: Path) -> None:
    labels = make_labels(3)
    printer = ZplFilePrinter(tmp_path / "labels.zpl")
    printer.print_labels(labels)
    assert [_qr_payload(f) for f in _formats(printer.path.read_bytes())] == payloads(labels)


def test_300_dpi_printer_gets_more_dots() -> None:
    fmt = label_zpl(make_labels(1)[0], dots_per_mm=12)
    assert "^PW600\n^LL300\n" in fmt


async def test_printer_off_keeps_the_job_queued_and_retry_prints_it(
    tmp_path: Path, listener: Listener
) -> None:
    port = free_port()
    queue = PrintQueue(tmp_path / "queue", ZplPrinter("127.0.0.1", port, timeout=5))
    labels = make_labels(4)
    with pytest.raises(PrinterError) as info:
        await asyncio.to_thread(queue.submit, labels)
    message = str(info.value)
    assert f"printer 127.0.0.1:{port}: refused the connection" in message
    assert "Switch the printer on and check its network cable" in message
    assert "will be printed with Retry" in message
    [pending] = queue.pending()
    assert pending.labels == tuple(labels)
    assert pending.attempts == 1
    assert "refused" in pending.last_error

    # Still off: Retry fails the same way and keeps the job.
    with pytest.raises(PrinterError):
        await asyncio.to_thread(queue.retry_pending)
    assert [job.attempts for job in queue.pending()] == [2]

    await listener.start(port)  # the printer is switched on
    printed = await asyncio.to_thread(queue.retry_pending)
    assert [job.id for job in printed] == [pending.id]
    assert queue.pending() == []
    [job] = await asyncio.wait_for(listener.wait_jobs(), 10)
    assert [_qr_payload(f) for f in _formats(job)] == payloads(labels)


def test_queue_survives_a_restart(tmp_path: Path) -> None:
    port = free_port()
    folder = tmp_path / "queue"
    with pytest.raises(PrinterError):
        PrintQueue(folder, ZplPrinter("127.0.0.1", port, timeout=5)).submit(make_labels(2))
    again = PrintQueue(folder, ZplFilePrinter(tmp_path / "out.zpl"))
    assert [len(job.labels) for job in again.pending()] == [2]
    again.retry_pending()
    assert again.pending() == []
    assert len(_formats((tmp_path / "out.zpl").read_bytes())) == 2


def test_a_damaged_job_file_is_moved_aside_and_the_rest_still_print(tmp_path: Path) -> None:
    folder = tmp_path / "queue"
    with pytest.raises(PrinterError):
        PrintQueue(folder, ZplPrinter("127.0.0.1", free_port(), timeout=5)).submit(make_labels(1))
    (folder / "00000000-garbage.json").write_text('{"id": "x", "labels": [{"slot": "no"')
    queue = PrintQueue(folder, ZplFilePrinter(tmp_path / "out.zpl"))
    assert [len(job.labels) for job in queue.pending()] == [1]
    assert (folder / "00000000-garbage.json.damaged").exists()
    assert len(queue.retry_pending()) == 1
