"""Turns a :class:`PrinterSetting` into a printer: the CLI and the window share this one place."""

from __future__ import annotations

from typing import Any

from station import messages
from station.errors import InputError
from station.labels.brother import LABELS as BROTHER_LABELS
from station.labels.brother import BrotherPrinter
from station.labels.brother import _parse_usb as parse_usb_address
from station.labels.printer_setting import (
    ZPL,
    PrinterSetting,
    check_setting,
    zpl_host_port,
    zpl_size,
)
from station.labels.queue import Printer
from station.labels.zpl import ZplPrinter

__all__ = ["PrinterSetting", "open_printer"]


def open_printer(setting: PrinterSetting, *, usb_backend: Any = None) -> Printer:
    """The printer ``setting`` names; nothing is sent or opened yet.

    ``usb_backend``: pyusb's backend for ``usb://`` Brother printers (None: libusb; a
    virtual cart passes its own).

    Raises:
        InputError: the setting is not a printer (the message says which part).
    """
    check_setting(setting)
    label = setting.label_or_default
    if setting.kind == ZPL:
        host, port = zpl_host_port(setting.address)
        return ZplPrinter(host, port, zpl_size(label), setting.dots_per_mm)
    if label not in BROTHER_LABELS:
        raise InputError(
            messages.BROTHER_LABEL_UNKNOWN.fill(label=label),
            hint=messages.BROTHER_LABELS_HINT.fill(choices=", ".join(BROTHER_LABELS)),
        )
    address = setting.address.strip()
    if address.startswith("usb://"):
        _check_usb_address(address)
    return BrotherPrinter(address, label, usb_backend=usb_backend)


def _check_usb_address(address: str) -> None:
    """``usb://VENDOR:PRODUCT[/SERIAL]`` is well formed (the bus is not looked at here)."""
    try:
        parse_usb_address(address)
    except InputError:
        raise InputError(
            messages.BROTHER_USB_ADDRESS_BAD.fill(address=address),
            hint=messages.BROTHER_USB_ADDRESS_HINT,
        ) from None
