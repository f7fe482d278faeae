"""A label printer as the station names it (kind, address, label): parsed, no I/O, no USB."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlparse

from station import messages
from station.errors import InputError
from station.labels.model import LabelSize
from station.labels.zpl import DEFAULT_PORT, DEFAULT_SIZE

BROTHER = "brother"
ZPL = "zpl"
KINDS = (BROTHER, ZPL)
ZPL_DOTS_PER_MM = (6, 8, 12, 24)
DEFAULT_BROTHER_LABEL = "62"
DEFAULT_ZPL_LABEL = "50x25"


@dataclass(frozen=True)
class PrinterSetting:
    """What the CLI's ``--format``/``--printer``/``--label``/``--zpl-*`` say, as one value.

    ``label`` is the Brother tape name (``62``, ``29x90``) or the Zebra label ``WxH`` in mm.
    """

    kind: str
    address: str
    label: str = ""
    dots_per_mm: int = 8

    @property
    def label_or_default(self) -> str:
        if self.label:
            return self.label
        return DEFAULT_ZPL_LABEL if self.kind == ZPL else DEFAULT_BROTHER_LABEL


def zpl_size(text: str) -> LabelSize:
    """``50x25`` as a Zebra label size in millimetres (anything without an ``x``: the default)."""
    w, x, h = text.lower().partition("x")
    try:
        return LabelSize(f"zebra-{text}", float(w), float(h)) if x else DEFAULT_SIZE
    except ValueError:
        raise InputError(messages.ZPL_SIZE_BAD.fill(size=text)) from None


def zpl_host_port(address: str) -> tuple[str, int]:
    """``tcp://HOST:PORT`` (or ``HOST[:PORT]``) of a Zebra printer; the port defaults to 9100."""
    text = address.strip()
    url = urlparse(text if "://" in text else "tcp://" + text)
    try:
        port = url.port or DEFAULT_PORT
    except ValueError:
        port = 0
    if url.scheme != "tcp" or not url.hostname or not 0 < port < 65536 or url.path.strip("/"):
        raise InputError(
            messages.ZPL_ADDRESS_BAD.fill(address=address), hint=messages.ZPL_ADDRESS_HINT
        )
    return url.hostname, port


def check_setting(setting: PrinterSetting) -> None:
    """The parts every printer kind needs (the kind, an address, a Zebra label and dpmm).

    Raises:
        InputError: with a catalog message naming what is wrong.
    """
    if setting.kind not in KINDS:
        raise InputError(
            messages.PRINTER_KIND_UNKNOWN.fill(value=setting.kind),
            hint=messages.PRINTER_KINDS_HINT.fill(choices=", ".join(KINDS)),
        )
    if not setting.address.strip():
        raise InputError(messages.PRINTER_NO_ADDRESS)
    if setting.kind == ZPL:
        zpl_host_port(setting.address)
        if "x" not in setting.label_or_default.lower():  # the CLI's zpl_size would default
            raise InputError(messages.ZPL_SIZE_BAD.fill(size=setting.label))
        zpl_size(setting.label_or_default)
        if setting.dots_per_mm not in ZPL_DOTS_PER_MM:
            raise InputError(
                messages.ZPL_DPMM_BAD.fill(number=setting.dots_per_mm),
                hint=messages.ZPL_DPMM_HINT.fill(
                    choices=", ".join(str(d) for d in ZPL_DOTS_PER_MM)
                ),
            )
