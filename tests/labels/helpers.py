"""Label test helpers: a cart's worth of label data and a QR reader in reading order."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterable
from typing import Any

import zxingcpp

from station.labels.model import LabelData

BASE_URL = "https://inventar.kreis-segeberg.example"
SCHOOL = "Grundschule Bornhöved"


def make_labels(count: int = 30, *, cart: str = "A") -> list[LabelData]:
    return [
        LabelData(
            asset_tag=f"SEG042-{slot:05d}",
            school_name=SCHOOL,
            school_id="SEG042",
            serial=f"DMPX{slot:08d}",
            model="iPad (10th generation)",
            cart=cart,
            slot=slot,
            qr_payload=f"{BASE_URL}/ht/SEG042-{slot:05d}",
        )
        for slot in range(1, count + 1)
    ]


def decode_in_reading_order(image: Any, row_tolerance: float = 40) -> list[str]:
    """Every QR code zxing-cpp finds in ``image``, top row first, left to right."""
    results = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    found: list[tuple[float, float, str]] = []
    for r in results:
        points = [r.position.top_left, r.position.top_right]
        points += [r.position.bottom_left, r.position.bottom_right]
        cx = sum(p.x for p in points) / 4
        cy = sum(p.y for p in points) / 4
        found.append((cy, cx, r.text))
    found.sort()
    rows: list[list[tuple[float, float, str]]] = []
    for item in found:
        if rows and abs(rows[-1][0][0] - item[0]) <= row_tolerance:
            rows[-1].append(item)
        else:
            rows.append([item])
    return [text for row in rows for _, _, text in sorted(row, key=lambda i: i[1])]


def payloads(labels: Iterable[LabelData]) -> list[str]:
    return [label.qr_payload for label in labels]


class Listener:
    """A raw TCP 'printer' on 127.0.0.1: collects everything each connection sends."""

    def __init__(self) -> None:
        self.jobs: list[bytes] = []
        self.got_job = asyncio.Event()
        self.server: asyncio.Server | None = None

    async def start(self, port: int = 0) -> int:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", port)
        return int(self.server.sockets[0].getsockname()[1])

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        data = await reader.read()  # until the sender closes: a printer prints what it got
        writer.close()
        await writer.wait_closed()
        self.jobs.append(data)
        self.got_job.set()

    async def wait_jobs(self, count: int = 1) -> list[bytes]:
        """The first ``count`` non-empty jobs (empty ones are connection probes)."""
        while len(jobs := [job for job in self.jobs if job]) < count:
            self.got_job.clear()  # no await since the check: no job can slip in between
            await self.got_job.wait()
        return jobs

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


def free_port() -> int:
    """A loopback port nobody listens on (bound once, then released): a printer that is off."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
