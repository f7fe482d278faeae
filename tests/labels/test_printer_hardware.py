"""Real label printers (skipped unless one is attached and named).

Run on a station with a printer, e.g. a Brother QL-820NWB on USB with a 62 mm roll::

    STATION_DEVICE_TESTS=1 STATION_BROTHER_PRINTER=usb://0x04f9:0x209d STATION_BROTHER_LABEL=62 \\
        .venv/bin/python -m pytest tests/labels/test_printer_hardware.py

(or ``tcp://192.0.2.5:9100`` for one on the network; ``STATION_ZEBRA_PRINTER=host:9100`` for a
Zebra). Each test prints two labels: check by eye that they are centred and not cut off, and
scan their QR codes with a phone.
"""

from __future__ import annotations

import os

import pytest

from station.labels.brother import BrotherPrinter
from station.labels.zpl import ZplPrinter
from tests.labels.helpers import make_labels

pytestmark = [
    pytest.mark.device,
    pytest.mark.skipif(
        os.environ.get("STATION_DEVICE_TESTS") != "1",
        reason="needs a real label printer (set STATION_DEVICE_TESTS=1 and name the printer)",
    ),
]


@pytest.mark.skipif(not os.environ.get("STATION_BROTHER_PRINTER"), reason="no Brother printer")
def test_a_real_brother_prints_two_labels() -> None:
    printer = BrotherPrinter(
        os.environ["STATION_BROTHER_PRINTER"],
        label=os.environ.get("STATION_BROTHER_LABEL", "62"),
        model=os.environ.get("STATION_BROTHER_MODEL", "QL-820NWB"),
    )
    printer.print_labels(make_labels(2))  # raises PrinterError with the printer's own words


@pytest.mark.skipif(not os.environ.get("STATION_ZEBRA_PRINTER"), reason="no Zebra printer")
def test_a_real_zebra_prints_two_labels() -> None:
    host, _, port = os.environ["STATION_ZEBRA_PRINTER"].rpartition(":")
    printer = ZplPrinter(host, int(port))
    printer.print_labels(make_labels(2))
