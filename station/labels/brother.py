"""Brother QL printers: raster instructions (brother-ql-next), sent over the network or USB.

Over USB the printer is found here with pyusb (so a virtual cart's backend can stand in for
libusb), its status block is read first with brother_ql's own status request (a wrong roll
or an open cover is refused before anything prints), then brother_ql's pyusb backend sends
the raster and reads the printer's answers.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import usb.core
import usb.util
from brother_ql.backends.helpers import send, status  # type: ignore[import-untyped]
from brother_ql.conversion import convert  # type: ignore[import-untyped]
from brother_ql.exceptions import BrotherQLError  # type: ignore[import-untyped]
from brother_ql.labels import FormFactor, LabelsManager  # type: ignore[import-untyped]
from brother_ql.raster import BrotherQLRaster  # type: ignore[import-untyped]

from station import messages
from station.errors import InputError, PrinterError
from station.labels.model import LabelData, LabelSize, render_label_image
from station.labels.queue import PartlyPrinted

log = logging.getLogger("station.labels.brother")

DPI = 300
DEFAULT_MODEL = "QL-820NWB"
BACKENDS = ("network", "pyusb", "linux_kernel")
UNREACHABLE_HINT = messages.PRINTER_UNREACHABLE_HINT
USB_HINT = messages.PRINTER_USB_HINT
MEDIA_HINT = messages.PRINTER_MEDIA_HINT
PRINTER_HINT = messages.PRINTER_CHECK_HINT
PRINTER_CLASS = 7
MASS_STORAGE_CLASS = 8  # a QL-8xx with Editor Lite on
# brother_ql's words for the status block's error bits, as a person at the printer reads them.
ERROR_WORDS: Mapping[str, messages.Template] = {
    "No media when printing": messages.PRINTER_NO_MEDIA_WORDS,
    "End of media (die-cut size only)": messages.PRINTER_ROLL_USED_UP,
    "Tape cutter jam": messages.PRINTER_CUTTER_JAM,
    "Printer turned off": messages.PRINTER_SWITCHED_OFF,
    "Replace media error": messages.PRINTER_WRONG_MEDIA,
    "Transmission / Communication error": messages.PRINTER_GARBLED,
    "Cover opened while printing (Except QL-500)": messages.PRINTER_COVER_OPEN,
    "Media cannot be fed (also when the media end is detected)": messages.PRINTER_TAPE_STUCK,
    "System error": messages.PRINTER_SYSTEM_ERROR,
}


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
        raise InputError(messages.NO_LABELS)
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
        raise PrinterError(identifier, messages.PRINTER_TIMED_OUT, hint=UNREACHABLE_HINT) from None
    except ConnectionRefusedError:
        raise PrinterError(identifier, messages.PRINTER_REFUSED, hint=UNREACHABLE_HINT) from None
    except OSError as exc:
        problem = messages.PRINTER_UNREACHABLE.fill(reason=exc.strerror or exc)
        raise PrinterError(identifier, problem, hint=UNREACHABLE_HINT) from exc


def _parse_usb(identifier: str) -> tuple[int, int, str]:
    """``usb://0x04f9:0x209d``, with ``/SERIAL`` or brother_ql's ``_SERIAL`` after it."""
    text = identifier.removeprefix("usb://")
    ids, _, serial = text.partition("/")
    if not serial and "_" in ids:
        ids, _, serial = ids.partition("_")
    vendor, _, product = ids.partition(":")
    try:
        return int(vendor, 16), int(product, 16), serial
    except ValueError:
        raise InputError(
            f"Brother USB address {identifier!r} is not usb://VENDOR:PRODUCT[/SERIAL]",
            hint="for example usb://0x04f9:0x209d (QL-820NWB) or usb://0x04f9:0x2042 (QL-700)",
        ) from None


def _describe(dev: Any) -> str:
    try:
        serial = usb.util.get_string(dev, dev.iSerialNumber) if dev.iSerialNumber else ""
    except (usb.core.USBError, ValueError):
        serial = ""
    name = f"usb://0x{dev.idVendor:04x}:0x{dev.idProduct:04x}"
    return f"{name}/{serial}" if serial else name


def _has_interface(dev: Any, klass: int) -> bool:
    return any(intf.bInterfaceClass == klass for cfg in dev for intf in cfg)


def _has_printer_interface(dev: Any) -> bool:
    return _has_interface(dev, PRINTER_CLASS)


def find_usb_printer(identifier: str, usb_backend: Any = None) -> Any:
    """The pyusb device of a Brother printer at ``usb://VENDOR:PRODUCT[/SERIAL]``.

    ``usb_backend``: pyusb's backend (None: libusb; a virtual cart passes its own).

    Raises:
        PrinterError: not on the bus (which Brother devices are, if any), or USB unusable.
    """
    vendor, product, serial = _parse_usb(identifier)
    try:
        found = list(usb.core.find(find_all=True, idVendor=vendor, backend=usb_backend))
        matches = [d for d in found if d.idProduct == product and _has_printer_interface(d)]
        if serial:
            matches = [d for d in matches if _describe(d).endswith("/" + serial)]
    except usb.core.NoBackendError as exc:
        raise PrinterError(
            identifier,
            messages.PRINTER_NO_LIBUSB,
            hint=messages.PRINTER_LIBUSB_HINT,
        ) from exc
    except usb.core.USBError as exc:
        raise PrinterError(
            identifier, messages.PRINTER_USB_BUS.fill(reply=exc), hint=USB_HINT
        ) from exc
    if matches:
        return matches[0]
    printers = [_describe(d) for d in found if _has_printer_interface(d)]
    storage = [d for d in found if _has_interface(d, MASS_STORAGE_CLASS)]
    if storage and not printers:
        raise PrinterError(
            identifier, messages.PRINTER_EDITOR_LITE, hint=messages.PRINTER_EDITOR_LITE_HINT
        )
    problem: str = messages.PRINTER_NOT_ON_USB
    if printers:
        problem = messages.PRINTER_NOT_ON_USB_OTHERS.fill(printers=", ".join(printers))
    raise PrinterError(identifier, problem, hint=USB_HINT)


def _errors_text(errors: Sequence[str]) -> str:
    """The printer's error words (catalog messages, for the window) joined by ", "."""
    return ", ".join(ERROR_WORDS.get(e, e) for e in errors) or messages.PRINTER_UNKNOWN_ERROR


def _roll_text(width: int, length: int) -> str:
    if not width:
        return messages.ROLL_NONE
    if length:
        return messages.ROLL_DIE_CUT.fill(width=width, length=length)
    return messages.ROLL_ENDLESS.fill(width=width)


def check_printer_state(state: Mapping[str, Any], label: str, identifier: str) -> None:
    """Refuse to print when the status block shows an error or a roll the labels do not fit.

    Raises:
        PrinterError: naming what the printer reports, or what is loaded and what is needed.
    """
    spec = LabelsManager()[brother_label(label).name]
    width, length = spec.tape_size
    need = _roll_text(width, length if spec.form_factor != FormFactor.ENDLESS else 0)
    errors = list(state.get("errors") or [])
    if state.get("media_type") == "No media" or not state.get("media_width"):
        raise PrinterError(identifier, messages.PRINTER_NO_MEDIA, hint=MEDIA_HINT.fill(roll=need))
    if errors:
        problem = messages.PRINTER_REPORTS.fill(problems=_errors_text(errors))
        raise PrinterError(identifier, problem, hint=PRINTER_HINT)
    loaded_width = int(state.get("media_width") or 0)
    loaded_length = int(state.get("media_length") or 0)
    die_cut = state.get("media_type") == "Die-cut labels"
    wanted_die_cut = spec.form_factor != FormFactor.ENDLESS
    if (
        loaded_width != width
        or die_cut != wanted_die_cut
        or (wanted_die_cut and loaded_length != length)
    ):
        loaded = _roll_text(loaded_width, loaded_length if die_cut else 0)
        raise PrinterError(
            identifier,
            messages.PRINTER_WRONG_ROLL.fill(loaded=loaded, roll=need),
            hint=MEDIA_HINT.fill(roll=need),
        )


def _resolve(
    identifier: str, backend: str | None, timeout: float, usb_backend: Any
) -> tuple[str, Any, str]:
    """(brother_ql backend, what it opens, identifier for messages), the printer looked up."""
    chosen = _backend_for(identifier, backend)
    if chosen == "network":
        _probe(identifier, timeout)
        if "://" not in identifier:
            identifier = "tcp://" + identifier
        return chosen, identifier, identifier
    if chosen == "pyusb":
        return chosen, find_usb_printer(identifier, usb_backend), identifier
    return chosen, identifier, identifier


def _hint(chosen: str) -> str:
    return UNREACHABLE_HINT if chosen == "network" else USB_HINT


def _check_roll(target: Any, chosen: str, model: str, label: str, identifier: str) -> None:
    """brother_ql's status request: the printer's errors and roll, before anything prints."""
    try:
        state, _raw = status(model, target, backend_identifier=chosen)
    except BrotherQLError as exc:  # "Received no data." after ten seconds of asking
        raise PrinterError(identifier, messages.PRINTER_NO_STATUS, hint=_hint(chosen)) from exc
    except (OSError, ValueError) as exc:
        problem = messages.PRINTER_FAILED.fill(reply=str(exc) or type(exc).__name__)
        raise PrinterError(identifier, problem, hint=_hint(chosen)) from exc
    check_printer_state(state, label, identifier)


def _send(instructions: bytes, target: Any, chosen: str, identifier: str) -> dict[str, Any]:
    try:
        result: dict[str, Any] = send(instructions, target, backend_identifier=chosen)
    except (OSError, ValueError, BrotherQLError) as exc:
        # pyusb says "Device not found" with a ValueError; usb.core.USBError is an OSError.
        problem = messages.PRINTER_FAILED.fill(reply=str(exc) or type(exc).__name__)
        raise PrinterError(identifier, problem, hint=_hint(chosen)) from exc
    if result.get("outcome") == "error":
        errors = (result.get("printer_state") or {}).get("errors") or []
        problem = messages.PRINTER_REPORTED.fill(problems=_errors_text(errors))
        raise PrinterError(identifier, problem, hint=PRINTER_HINT)
    log.info("sent %d bytes to %s (%s)", len(instructions), identifier, result.get("outcome"))
    return result


def send_brother(
    instructions: bytes,
    printer_identifier: str,
    backend: str | None = None,
    *,
    timeout: float = 10.0,
    label: str | None = None,
    model: str = DEFAULT_MODEL,
    usb_backend: Any = None,
) -> dict[str, Any]:
    """Send raster instructions; return brother_ql's status dict, or raise PrinterError.

    ``printer_identifier``: ``tcp://192.0.2.5:9100`` (network), ``usb://0x04f9:0x209d``
    (pyusb) or ``file:///dev/usb/lp0`` (linux_kernel). Over pyusb, with ``label`` the
    printer's status is read first and a roll that does not fit the labels is refused;
    ``usb_backend`` is pyusb's backend (None: libusb).
    """
    chosen, target, identifier = _resolve(printer_identifier, backend, timeout, usb_backend)
    if chosen == "pyusb" and label is not None:
        _check_roll(target, chosen, model, label, identifier)
    return _send(instructions, target, chosen, identifier)


@dataclass(frozen=True)
class BrotherPrinter:
    """A Brother QL printer and the tape in it."""

    identifier: str
    label: str = "62"
    model: str = DEFAULT_MODEL
    backend: str | None = None
    timeout: float = 10.0
    usb_backend: Any = None  # pyusb's backend for usb:// printers (None: libusb)

    @property
    def name(self) -> str:
        return self.identifier

    def print_labels(self, labels: Sequence[LabelData]) -> None:
        """Print ``labels``; over USB one at a time, each confirmed by the printer.

        brother_ql stops listening once the first page of a job is printed, so a roll that
        runs out on label 17 of 30 would go unnoticed in one job. One job per label hears it,
        and :class:`PartlyPrinted` tells the queue which labels still need printing.
        """
        chosen, target, identifier = _resolve(
            self.identifier, self.backend, self.timeout, self.usb_backend
        )
        if chosen == "network":  # no answers come back over the network: one job
            data = brother_instructions(labels, self.label, model=self.model)
            _send(data, target, chosen, identifier)
            return
        if chosen == "pyusb":
            _check_roll(target, chosen, self.model, self.label, identifier)
        for done, label in enumerate(labels):
            data = brother_instructions([label], self.label, model=self.model)
            try:
                _send(data, target, chosen, identifier)
            except PrinterError as exc:
                if not done:
                    raise
                raise PartlyPrinted(
                    identifier,
                    messages.PARTLY_PRINTED.fill(error=exc.problem, done=done, count=len(labels)),
                    printed=done,
                    hint=exc.hint,
                ) from exc
