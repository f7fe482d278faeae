"""Brother QL printers: raster instructions (brother-ql-next), sent over the network or USB."""

from __future__ import annotations

import logging
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from brother_ql.backends.helpers import send  # type: ignore[import-untyped]
from brother_ql.conversion import convert  # type: ignore[import-untyped]
from brother_ql.exceptions import BrotherQLError  # type: ignore[import-untyped]
from brother_ql.raster import BrotherQLRaster  # type: ignore[import-untyped]

from station.errors import InputError, PrinterError
from station.labels.model import LabelData, LabelSize, render_label_image

log = logging.getLogger("station.labels.brother")

DPI = 300
DEFAULT_MODEL = "QL-820NWB"
BACKENDS = ("network", "pyusb", "linux_kernel")
UNREACHABLE_HINT = (
    "Switch the printer on and check its network cable; the labels are kept and will be "
    "printed with Retry"
)
USB_HINT = (
    "Switch the printer on, check its USB cable and turn Editor Lite off; the labels are kept "
    "and will be printed with Retry"
)


@dataclass(frozen=True)
class BrotherLabel:
    """A tape brother_ql knows by ``name``; ``size`` is the landscape area we draw."""

    name: str
    size: LabelSize
    rotate: int | str  # brother_ql's rotate: endless tape runs as drawn, die-cut turns 90°


# Printable dots at 300 dpi from brother_ql's label table: 62 mm endless is 696 dots across
# (we cut it 29 mm long); 29x90 die-cut is 306 x 991 dots, drawn landscape and turned.
LABELS: Mapping[str, BrotherLabel] = {
    "62": BrotherLabel("62", LabelSize.from_pixels("62", 696, 342, DPI), 0),
    "29x90": BrotherLabel("29x90", LabelSize.from_pixels("29x90", 991, 306, DPI), "auto"),
}


def brother_label(name: str) -> BrotherLabel:
    try:
        return LABELS[name]
    except KeyError:
        raise InputError(
            f"unknown Brother label {name!r}", hint="known: " + ", ".join(LABELS)
        ) from None


def brother_instructions(
    labels: Sequence[LabelData],
    label: str = "62",
    *,
    model: str = DEFAULT_MODEL,
    cut: bool = True,
) -> bytes:
    """Raster instructions for ``labels`` on tape ``label``; no printer needed."""
    tape = brother_label(label)
    if not labels:
        raise InputError("no labels to print")
    try:
        qlr = BrotherQLRaster(model)
    except BrotherQLError:
        raise InputError(f"unknown Brother printer model {model!r}") from None
    qlr.exception_on_warning = True
    images = [render_label_image(data, tape.size, DPI) for data in labels]
    try:
        data: bytes = convert(qlr, images, tape.name, rotate=tape.rotate, cut=cut)
    except (BrotherQLError, ValueError) as exc:
        raise InputError(f"Brother {model}, label {label}: {exc}") from exc
    return data


def _backend_for(identifier: str, backend: str | None) -> str:
    if backend is not None:
        if backend not in BACKENDS:
            raise InputError(
                f"unknown Brother backend {backend!r}", hint="known: " + ", ".join(BACKENDS)
            )
        return backend
    if identifier.startswith(("usb://", "0x")):
        return "pyusb"
    if identifier.startswith(("file://", "/dev/usb/")):
        return "linux_kernel"
    return "network"


def _probe(identifier: str, timeout: float) -> None:
    """Connect once with a timeout: brother_ql's network backend connects without one (and
    leaks its socket when that fails), so a switched-off printer would hang for minutes."""
    url = urlparse(identifier if "://" in identifier else "tcp://" + identifier)
    host, port = url.hostname or "", url.port or 9100
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except TimeoutError:
        raise PrinterError(identifier, "no answer (timed out)", hint=UNREACHABLE_HINT) from None
    except ConnectionRefusedError:
        raise PrinterError(identifier, "refused the connection", hint=UNREACHABLE_HINT) from None
    except OSError as exc:
        raise PrinterError(
            identifier, f"unreachable ({exc.strerror or exc})", hint=UNREACHABLE_HINT
        ) from exc


def send_brother(
    instructions: bytes,
    printer_identifier: str,
    backend: str | None = None,
    *,
    timeout: float = 10.0,
) -> dict[str, Any]:
    """Send raster instructions; return brother_ql's status dict, or raise PrinterError.

    ``printer_identifier``: ``tcp://192.0.2.5:9100`` (network), ``usb://0x04f9:0x209b``
    (pyusb) or ``file:///dev/usb/lp0`` (linux_kernel).
    """
    chosen = _backend_for(printer_identifier, backend)
    if chosen == "network":
        _probe(printer_identifier, timeout)
        if "://" not in printer_identifier:
            printer_identifier = "tcp://" + printer_identifier
    hint = UNREACHABLE_HINT if chosen == "network" else USB_HINT
    try:
        status: dict[str, Any] = send(
            instructions, printer_identifier, backend_identifier=chosen, blocking=True
        )
    except (OSError, ValueError, BrotherQLError) as exc:
        # pyusb says "Device not found" with a ValueError; usb.core.USBError is an OSError.
        raise PrinterError(printer_identifier, str(exc) or type(exc).__name__, hint=hint) from exc
    if status.get("outcome") == "error":
        errors = (status.get("printer_state") or {}).get("errors") or ["unknown error"]
        raise PrinterError(
            printer_identifier,
            "reported " + ", ".join(errors),
            hint="Check the tape and the cover; the labels are kept and will be printed with Retry",
        )
    log.info(
        "sent %d bytes to %s (%s)", len(instructions), printer_identifier, status.get("outcome")
    )
    return status


@dataclass(frozen=True)
class BrotherPrinter:
    """A Brother QL printer and the tape in it."""

    identifier: str
    label: str = "62"
    model: str = DEFAULT_MODEL
    backend: str | None = None
    timeout: float = 10.0

    @property
    def name(self) -> str:
        return self.identifier

    def print_labels(self, labels: Sequence[LabelData]) -> None:
        data = brother_instructions(labels, self.label, model=self.model)
        send_brother(data, self.identifier, self.backend, timeout=self.timeout)
