"""Zebra printers: labels as ZPL II (UTF-8 via ^CI28), sent raw to TCP port 9100 or to a file."""

from __future__ import annotations

import logging
import math
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from station import messages
from station.errors import PrinterError
from station.labels.model import (
    QR_BORDER,
    Fonts,
    LabelData,
    LabelSize,
    default_fonts,
    layout_label,
    qr_modules,
)

log = logging.getLogger("station.labels.zpl")

DEFAULT_PORT = 9100
DEFAULT_SIZE = LabelSize("zebra-50x25", 50.0, 25.0)
UNREACHABLE_HINT = messages.PRINTER_UNREACHABLE_HINT
_SPECIAL = frozenset("^~_")  # ZPL command prefixes, and our ^FH escape character


def escape_field(text: str) -> str:
    """``text`` for a ^FD field after ``^FH_``: ^, ~, _ and control characters as _XX hex.

    Hex escapes are UTF-8 bytes, which ^CI28 decodes; other characters (umlauts) go as UTF-8.
    """
    out: list[str] = []
    for char in text:
        if char in _SPECIAL or ord(char) < 0x20 or ord(char) == 0x7F:
            out.extend(f"_{byte:02X}" for byte in char.encode("utf-8"))
        else:
            out.append(char)
    return "".join(out)


def label_zpl(
    data: LabelData,
    size: LabelSize = DEFAULT_SIZE,
    *,
    dots_per_mm: int = 8,
    fonts: Fonts | None = None,
) -> str:
    """One label as a ZPL II format (``^XA`` ... ``^XZ``); 8 dots/mm = 203 dpi, 12 = 300 dpi."""
    layout = layout_label(data, size, fonts or default_fonts())

    def dots(mm: float) -> int:
        return round(mm * dots_per_mm)

    modules = len(qr_modules(data.qr_payload)) + 2 * QR_BORDER
    magnification = max(1, min(10, math.floor(layout.qr.w * dots_per_mm / modules)))
    inset = (dots(layout.qr.w) - magnification * modules) // 2 + QR_BORDER * magnification
    parts = [
        "^XA",
        "^CI28",  # field data is UTF-8 (umlauts in school names)
        f"^PW{dots(size.width_mm)}",
        f"^LL{dots(size.height_mm)}",
        "^LH0,0",
        # QR: model 2, ECC M; the field data starts with the ECC level and A (automatic mode).
        f"^FO{dots(layout.qr.x) + inset},{dots(layout.qr.y) + inset}"
        f"^BQN,2,{magnification},M^FH_^FDMA,{escape_field(data.qr_payload)}^FS",
    ]
    for line in layout.lines:
        height = max(10, dots(line.size))
        parts.append(
            # Font 0 without a width keeps its own (condensed) proportions: narrower than
            # the DejaVu/Vera metrics the layout fitted the text with, so it still fits.
            f"^FT{dots(line.x)},{dots(line.baseline)}^A0N,{height}"
            f"^FH_^FD{escape_field(line.text)}^FS"
        )
    parts += ["^PQ1", "^XZ"]
    return "\n".join(parts) + "\n"


def labels_zpl(
    labels: Sequence[LabelData], size: LabelSize = DEFAULT_SIZE, *, dots_per_mm: int = 8
) -> bytes:
    """Every label, one format each, as the UTF-8 bytes a printer expects."""
    return "".join(label_zpl(d, size, dots_per_mm=dots_per_mm) for d in labels).encode("utf-8")


def send_zpl(host: str, port: int, data: bytes, timeout: float = 10.0) -> None:
    """Send raw ZPL to a printer's port (9100); raise :class:`PrinterError` when it is not there."""
    where = f"{host}:{port}"
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
    except TimeoutError:
        raise PrinterError(where, messages.PRINTER_TIMED_OUT, hint=UNREACHABLE_HINT) from None
    except ConnectionRefusedError:
        raise PrinterError(where, messages.PRINTER_REFUSED, hint=UNREACHABLE_HINT) from None
    except OSError as exc:
        problem = messages.PRINTER_UNREACHABLE.fill(reason=exc.strerror or exc)
        raise PrinterError(where, problem, hint=UNREACHABLE_HINT) from exc
    log.info("sent %d bytes of ZPL to %s", len(data), where)


def write_zpl(path: Path, data: bytes) -> None:
    """Write ZPL to a file or a device node (``/dev/usb/lp0``)."""
    try:
        path.write_bytes(data)
    except OSError as exc:
        problem = messages.PRINTER_CANNOT_WRITE.fill(reason=exc.strerror or exc)
        raise PrinterError(str(path), problem) from exc


@dataclass(frozen=True)
class ZplPrinter:
    """A Zebra printer on the network."""

    host: str
    port: int = DEFAULT_PORT
    size: LabelSize = DEFAULT_SIZE
    dots_per_mm: int = 8
    timeout: float = 10.0

    @property
    def name(self) -> str:
        return f"zpl://{self.host}:{self.port}"

    def print_labels(self, labels: Sequence[LabelData]) -> None:
        send_zpl(
            self.host,
            self.port,
            labels_zpl(labels, self.size, dots_per_mm=self.dots_per_mm),
            self.timeout,
        )


@dataclass(frozen=True)
class ZplFilePrinter:
    """ZPL written to a file (or a printer's device node)."""

    path: Path
    size: LabelSize = DEFAULT_SIZE
    dots_per_mm: int = 8

    @property
    def name(self) -> str:
        return f"file://{self.path}"

    def print_labels(self, labels: Sequence[LabelData]) -> None:
        write_zpl(self.path, labels_zpl(labels, self.size, dots_per_mm=self.dots_per_mm))
