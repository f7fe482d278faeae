"""MDM import files: Jamf School placeholders, Intune corporate identifiers, a generic CSV.

* Jamf School "Placeholders" CSV: header row; ``SerialNumber`` and ``Identification``
  required, ``AssetTag`` and ``AssignToUser`` optional (the placeholder's name goes in
  ``Identification``).
* Intune corporate device identifiers: two columns (identifier, details), NO header, one
  identifier type per file (serial numbers or IMEIs).
* Generic: a header row and every field the station knows.

Files are UTF-8 with CRLF line ends (what both consoles' upload dialogs expect from Excel).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from station.errors import InputError
from station.store import Store

FORMATS = ("jamf-school", "intune-serial", "intune-imei", "generic")
Format = Literal["jamf-school", "intune-serial", "intune-imei", "generic"]

_SERIAL_RE = re.compile(r"[A-Za-z0-9]{4,32}")
_IMEI_RE = re.compile(r"\d{15}")


@dataclass(frozen=True)
class MdmDevice:
    serial: str
    platform: str
    model: str = ""
    name: str = ""
    asset_tag: str = ""
    imei: str = ""
    user: str = ""
    school: str = ""


def devices_from_store(store: Store, *, platform: str | None = None) -> list[MdmDevice]:
    """Every device the station has seen, with its latest asset tag."""
    devices = []
    for row in store.db.query("SELECT id, platform, serial, model, name FROM devices ORDER BY id"):
        if platform and row["platform"] != platform:
            continue
        tags = store.asset_tags(int(row["id"]))
        devices.append(
            MdmDevice(
                serial=str(row["serial"]),
                platform=str(row["platform"]),
                model=str(row["model"]),
                name=str(row["name"]),
                asset_tag=tags[-1] if tags else "",
            )
        )
    return devices


def _safe(text: str) -> str:
    """No spreadsheet formulas, no line breaks inside a cell."""
    text = " ".join(text.split())
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def _write(rows: Iterable[Sequence[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows:
        writer.writerow([_safe(cell) for cell in row])
    return buffer.getvalue()


@dataclass(frozen=True)
class MdmFile:
    text: str
    written: int
    skipped: list[str]


def render(devices: Sequence[MdmDevice], fmt: str) -> MdmFile:
    """The file for ``fmt`` (one of :data:`FORMATS`); devices that cannot go in are listed."""
    skipped: list[str] = []
    rows: list[list[str]] = []
    seen: set[str] = set()
    if fmt == "jamf-school":
        rows.append(["SerialNumber", "Identification", "AssetTag", "AssignToUser"])
        for d in devices:
            if not _SERIAL_RE.fullmatch(d.serial):
                skipped.append(f"{d.serial!r}: not a serial number")
                continue
            if d.serial in seen:
                continue
            seen.add(d.serial)
            rows.append([d.serial, d.name or d.asset_tag or d.serial, d.asset_tag, d.user])
        written = len(rows) - 1
    elif fmt in ("intune-serial", "intune-imei"):
        use_imei = fmt == "intune-imei"
        for d in devices:
            ident = d.imei if use_imei else d.serial
            pattern = _IMEI_RE if use_imei else _SERIAL_RE
            if not pattern.fullmatch(ident):
                kind = "IMEI" if use_imei else "serial number"
                skipped.append(f"{d.serial!r}: no usable {kind}")
                continue
            if ident in seen:
                continue
            seen.add(ident)
            details = " ".join(p for p in (d.asset_tag, d.school, d.name) if p)
            rows.append([ident, details[:128]])
        written = len(rows)
    elif fmt == "generic":
        rows.append(["serial", "platform", "model", "name", "asset_tag", "imei", "user", "school"])
        for d in devices:
            rows.append(
                [d.serial, d.platform, d.model, d.name, d.asset_tag, d.imei, d.user, d.school]
            )
        written = len(rows) - 1
    else:
        raise InputError(
            f"unknown MDM file format {fmt!r}", hint=f"use one of {', '.join(FORMATS)}"
        )
    return MdmFile(text=_write(rows), written=written, skipped=skipped)
