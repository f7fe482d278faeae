"""An emulated Brother QL label printer on the virtual USB bus: raster commands in, status out.

The printer is a USB printer-class function (interface 7/1/2, bulk OUT 0x02, bulk IN 0x81), as
the QL-700 and QL-820NWB present themselves with Editor Lite off. It reads the raster command
stream of Brother's "Raster Command Reference" (invalidate, ``ESC @``, ``ESC i S``,
``ESC i a``, ``ESC i z``, ``ESC i M/A/K/d``, ``M``, ``g``/``w``/``Z`` lines, ``FF``/``SUB``)
and answers on the IN endpoint with the 32-byte status block: media width, type and length
of the loaded roll, the two error bytes, status type and phase. An IN transfer with nothing to
say returns no bytes (a zero-length packet), which is what brother_ql's pyusb backend expects.

Assumptions where the reference is silent: the invalidate bytes and ``ESC @`` drop status
blocks nobody read (the host starts over, so its next read answers its next request), and a
command the printer does not know puts it into the "Transmission / Communication error"
state, dropping what follows until invalidate bytes or ``ESC @``. Printing takes no time: a
page's status blocks are queued as soon as its print command arrives.
"""

from __future__ import annotations

import logging
import struct
import threading
from dataclasses import dataclass, field

from station.sim.usb.topology import UsbDescriptor

log = logging.getLogger("station.sim.usb.printer")

BROTHER_VENDOR_ID = 0x04F9
PRINTER_INTERFACE = (0x07, 0x01, 0x02)  # printer class, printer subclass, bidirectional
EP_OUT = 0x02
EP_IN = 0x81
STATUS_SIZE = 32

# Media type byte of the status block (the QL-800 series reference says 0x4A/0x4B; the
# printers send these).
MEDIA_NONE = 0x00
MEDIA_ENDLESS = 0x0A
MEDIA_DIE_CUT = 0x0B

STATUS_REPLY = 0x00
STATUS_PRINTED = 0x01
STATUS_ERROR = 0x02
STATUS_PHASE = 0x06
PHASE_RECEIVING = 0x00
PHASE_PRINTING = 0x01

# Error information 1 (byte 8) and 2 (byte 9).
ERR1_NO_MEDIA = 0x01
ERR1_END_OF_MEDIA = 0x02
ERR2_REPLACE_MEDIA = 0x01
ERR2_COMMUNICATION = 0x04
ERR2_COVER_OPEN = 0x10
ERR2_CANNOT_FEED = 0x40

# ESC i z validity flags.
PI_KIND = 0x02
PI_WIDTH = 0x04
PI_LENGTH = 0x08


@dataclass(frozen=True)
class QlModel:
    """What tells one model from another on the bus and in its status block."""

    name: str
    product_id: int
    model_code: int
    compression: bool
    bytes_per_row: int = 90


QL_MODELS = {
    "QL-700": QlModel("QL-700", 0x2042, 0x35, compression=False),
    "QL-820NWB": QlModel("QL-820NWB", 0x209D, 0x41, compression=True),
}


@dataclass(frozen=True)
class Media:
    """A DK roll: ``length_mm`` 0 is endless tape, else die-cut labels of that length."""

    width_mm: int
    length_mm: int = 0

    @property
    def kind(self) -> int:
        return MEDIA_DIE_CUT if self.length_mm else MEDIA_ENDLESS


MEDIA = {
    "62": Media(62),
    "29": Media(29),
    "29x90": Media(29, 90),
    "62x29": Media(62, 29),
}


@dataclass
class PrintedPage:
    """One page the printer printed, as its print-information command described it."""

    media_kind: int
    width_mm: int
    length_mm: int
    raster_count: int
    rows: list[bytes] = field(default_factory=list)
    autocut: bool = False
    cut_at_end: bool = False
    margin_dots: int = 0
    last: bool = True


@dataclass
class _Job:
    flags: int = 0
    kind: int = 0
    width: int = 0
    length: int = 0
    raster_count: int = 0
    autocut: bool = False
    cut_at_end: bool = False
    margin: int = 0
    rows: list[bytes] = field(default_factory=list)


class _NeedMore(Exception):
    """The command is not complete yet: wait for the next OUT transfer."""


def unpack_bits(data: bytes) -> bytes:
    """TIFF PackBits, as the raster lines use it with ``M 0x02``."""
    out = bytearray()
    i = 0
    while i < len(data):
        n = data[i]
        i += 1
        if n < 128:
            out += data[i : i + n + 1]
            i += n + 1
        elif n > 128:
            if i >= len(data):
                raise ValueError("PackBits run without its byte")
            out += bytes([data[i]]) * (257 - n)
            i += 1
    return bytes(out)


class BrotherQlPrinter:
    """One printer: its roll, its cover, what it received and what it printed.

    The USB backend calls :meth:`bulk_out` and :meth:`bulk_in` from whichever thread does the
    transfer; a lock keeps the parser and the status queue consistent.
    """

    def __init__(
        self,
        model: str = "QL-820NWB",
        media: Media | None = MEDIA["62"],
        *,
        serial: str = "000G9Z123456",
        cover_open: bool = False,
        remaining: int | None = None,
    ) -> None:
        self.model = QL_MODELS[model]
        self.media = media
        self.remaining = remaining  # labels left on the roll; None: plenty
        self.serial = serial
        self.cover_open = cover_open
        self.received = bytearray()
        self.pages: list[PrintedPage] = []
        self.error1 = 0
        self.error2 = 0
        self._pending = bytearray()
        self._status: list[bytes] = []
        self._job = _Job()
        self._compression = False
        self._printing = False
        self._lock = threading.Lock()

    def descriptor(self) -> UsbDescriptor:
        """What a USB scan sees: Brother's vendor id, the model's product id, one printer
        interface."""
        return UsbDescriptor(
            vendor_id=BROTHER_VENDOR_ID,
            product_id=self.model.product_id,
            manufacturer="Brother",
            product=self.model.name,
            serial_number=self.serial,
            bcd_usb=0x0200,
            bcd_device=0x0100,
            interfaces=(PRINTER_INTERFACE,),
            speed=2,  # full speed, like the QL printers
        )

    # --- what a person does at the printer ------------------------------------------------

    def load(self, media: Media | None, remaining: int | None = None) -> None:
        """Put in another roll (None: take the roll out); clears the media errors."""
        with self._lock:
            self.media = media
            self.remaining = remaining
            self.error1 &= ~(ERR1_NO_MEDIA | ERR1_END_OF_MEDIA)
            self.error2 &= ~(ERR2_REPLACE_MEDIA | ERR2_CANNOT_FEED)

    def set_cover(self, open_: bool) -> None:
        with self._lock:
            self.cover_open = open_
            if not open_:
                self.error2 &= ~ERR2_COVER_OPEN

    # --- the USB function -----------------------------------------------------------------

    def bulk_out(self, endpoint: int, data: bytes) -> int:
        """Take ``data`` from the host; every complete command is carried out at once."""
        with self._lock:
            self.received += data
            self._pending += data
            self._run()
            return len(data)

    def bulk_in(self, endpoint: int, size: int) -> bytes:
        """The next status block, or nothing (a zero-length packet) when there is none.

        The block is sent whole: a read shorter than 32 bytes overflows (the backend says so).
        """
        with self._lock:
            if not self._status:
                return b""
            return self._status.pop(0)

    # --- the command interpreter ----------------------------------------------------------

    def _run(self) -> None:
        buf = self._pending
        pos = 0
        while pos < len(buf):
            try:
                used = self._command(buf, pos)
            except _NeedMore:
                break
            pos += used
        del buf[:pos]

    def _need(self, buf: bytearray, pos: int, count: int) -> bytes:
        if pos + count > len(buf):
            raise _NeedMore
        return bytes(buf[pos : pos + count])

    def _command(self, buf: bytearray, pos: int) -> int:
        """Carry out the command at ``pos``; return its length."""
        byte = buf[pos]
        if self.error2 & ERR2_COMMUNICATION and byte not in (0x00, 0x1B):
            return 1  # after garbage, everything until invalidate / ESC @ is dropped
        if byte == 0x00:  # invalidate: the host starts over
            self._status.clear()
            self.error2 &= ~ERR2_COMMUNICATION
            return 1
        if byte == 0x1B:
            return self._escape(buf, pos)
        if byte == 0x4D:  # M: compression mode
            mode = self._need(buf, pos, 2)[1]
            self._compression = mode == 0x02 and self.model.compression
            return 2
        if byte in (0x67, 0x77):  # g 0x00 n / w 0x01|0x02 n: one raster line
            head = self._need(buf, pos, 3)
            line = self._need(buf, pos + 3, head[2])
            if byte == 0x67 or head[1] == 0x01:
                self._row(line)
            return 3 + head[2]
        if byte == 0x5A:  # Z: a blank line
            self._job.rows.append(bytes(self.model.bytes_per_row))
            return 1
        if byte in (0x0C, 0x1A):
            self._print(last=byte == 0x1A)
            return 1
        self._garbage(bytes(buf[pos : pos + 4]))
        return 1

    def _escape(self, buf: bytearray, pos: int) -> int:
        head = self._need(buf, pos, 2)
        if head[1] == 0x40:  # ESC @: initialize
            self._job = _Job()
            self._compression = False
            self._status.clear()
            self.error2 &= ~ERR2_COMMUNICATION
            return 2
        if head[1] != 0x69:
            self._garbage(head)
            return 2
        cmd = self._need(buf, pos, 3)[2]
        sizes = {0x53: 0, 0x61: 1, 0x21: 1, 0x7A: 10, 0x4D: 1, 0x41: 1, 0x4B: 1, 0x64: 2}
        if cmd not in sizes:
            self._garbage(self._need(buf, pos, 3))
            return 3
        if cmd == 0x53:  # ESC i S: status request, answered in every state
            self._queue(STATUS_REPLY)
            return 3
        if self.error2 & ERR2_COMMUNICATION:
            return 3 + sizes[cmd]
        args = self._need(buf, pos + 3, sizes[cmd])
        if cmd == 0x7A:  # ESC i z: print information
            flags, kind, width, length = args[0], args[1], args[2], args[3]
            (count,) = struct.unpack_from("<L", args, 4)
            self._job.flags, self._job.kind, self._job.width = flags, kind, width
            self._job.length, self._job.raster_count = length, count
        elif cmd == 0x4D:  # ESC i M: various mode, bit 6 auto cut
            self._job.autocut = bool(args[0] & 0x40)
        elif cmd == 0x4B:  # ESC i K: expanded mode, bit 3 cut at end
            self._job.cut_at_end = bool(args[0] & 0x08)
        elif cmd == 0x64:  # ESC i d: margin in dots
            (self._job.margin,) = struct.unpack("<H", args)
        return 3 + sizes[cmd]

    def _row(self, line: bytes) -> None:
        if self._compression:
            try:
                line = unpack_bits(line)
            except ValueError:
                self._garbage(line[:4])
                return
        self._job.rows.append(line)

    def _garbage(self, head: bytes) -> None:
        if self.error2 & ERR2_COMMUNICATION:
            return
        log.warning("printer %s: unknown command %s", self.serial, head.hex(" "))
        self.error2 |= ERR2_COMMUNICATION
        self._queue(STATUS_ERROR)

    def _print(self, *, last: bool) -> None:
        job = self._job
        if self.cover_open:
            self.error2 |= ERR2_COVER_OPEN
        elif self.media is None:
            self.error1 |= ERR1_NO_MEDIA
        elif (
            (job.flags & PI_WIDTH and job.width != self.media.width_mm)
            or (job.flags & PI_KIND and job.kind != self.media.kind)
            or (
                job.flags & PI_LENGTH
                and self.media.length_mm
                and job.length != self.media.length_mm
            )
        ):
            self.error2 |= ERR2_REPLACE_MEDIA
        elif self.remaining == 0:
            if self.media.length_mm:
                self.error1 |= ERR1_END_OF_MEDIA
            else:
                self.error2 |= ERR2_CANNOT_FEED
        if self.error1 or self.error2:
            self._queue(STATUS_ERROR)
            self._job = _Job()
            self._printing = False
            return
        if not self._printing:
            self._printing = True
            self._queue(STATUS_PHASE, PHASE_PRINTING)
        self.pages.append(
            PrintedPage(
                media_kind=job.kind,
                width_mm=job.width,
                length_mm=job.length,
                raster_count=job.raster_count,
                rows=job.rows,
                autocut=job.autocut,
                cut_at_end=job.cut_at_end,
                margin_dots=job.margin,
                last=last,
            )
        )
        if self.remaining is not None:
            self.remaining -= 1
        self._queue(STATUS_PRINTED, PHASE_PRINTING)
        # The next page's print information follows; the raster lines start afresh.
        self._job = _Job(autocut=job.autocut, cut_at_end=job.cut_at_end, margin=job.margin)
        if last:
            self._printing = False
            self._queue(STATUS_PHASE, PHASE_RECEIVING)

    def status_block(self, status_type: int, phase: int = PHASE_RECEIVING) -> bytes:
        """The 32-byte status block as the Raster Command Reference lays it out."""
        media = self.media
        block = bytearray(STATUS_SIZE)
        block[0:8] = bytes([0x80, 0x20, 0x42, 0x34, self.model.model_code, 0x30, 0x30, 0x00])
        block[8] = self.error1 | (ERR1_NO_MEDIA if media is None else 0)
        block[9] = self.error2 | (ERR2_COVER_OPEN if self.cover_open else 0)
        block[10] = media.width_mm if media else 0
        block[11] = media.kind if media else MEDIA_NONE
        block[17] = media.length_mm if media else 0
        block[18] = status_type
        block[19] = phase
        return bytes(block)

    def _queue(self, status_type: int, phase: int = PHASE_RECEIVING) -> None:
        self._status.append(self.status_block(status_type, phase))
