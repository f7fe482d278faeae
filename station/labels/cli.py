"""``station labels``: asset-tag labels for a run's devices, as PDF, PNG, ZPL or Brother raster."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from station.blueprint import load_blueprint
from station.errors import InputError, StationError, StoreBug
from station.labels.brother import LABELS as BROTHER_LABELS
from station.labels.brother import brother_instructions
from station.labels.model import LabelData
from station.labels.pdf import render_pdf
from station.labels.png import sheet_pngs
from station.labels.printer_setting import BROTHER, ZPL, PrinterSetting, zpl_size
from station.labels.printers import open_printer
from station.labels.queue import PrintQueue
from station.labels.sheets import get_sheet
from station.labels.templates import parse_template
from station.labels.zpl import labels_zpl
from station.store import Store, default_db_path

log = logging.getLogger("station.labels.cli")

BASE_URL_SETTING = "inventory.base_url"
CART_SETTING = "cart.name"
FORMATS = ("pdf", "png", "zpl", "brother")


def parse_slots(text: str) -> frozenset[int]:
    """``1-30`` or ``1,4,7-9`` as a set of slot numbers."""
    slots: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        low, dash, high = part.partition("-")
        try:
            first = int(low)
            last = int(high) if dash else first
        except ValueError:
            raise InputError(
                f"slots {text!r}: {part!r} is not a number or a range like 1-30"
            ) from None
        if first < 1 or last < first:
            raise InputError(f"slots {text!r}: {part!r} is not a range like 1-30")
        slots.update(range(first, last + 1))
    return frozenset(slots)


@dataclass(frozen=True)
class _Seen:
    slot: int | None = None
    cart: str = ""
    school_id: str = ""


def _resolve_run(store: Store, run_id: str) -> str:
    if run_id == "last":
        runs = store.runs(limit=1)
        if not runs:
            raise InputError("there are no runs in the station's records yet")
        return runs[0].id
    try:
        return store.run(run_id).id
    except StoreBug:
        recent = ", ".join(r.id for r in store.runs(limit=5)) or "none"
        raise InputError(
            f"no run {run_id!r} in the records", hint=f"recent runs: {recent}"
        ) from None


def _seen_in_run(store: Store, run_id: str) -> dict[int, _Seen]:
    """Per device: the slot and cart the run's events recorded (latest wins)."""
    seen: dict[int, _Seen] = {}
    for step in store.history(run_id=run_id, limit=1_000_000):
        seen.setdefault(step.device_id, _Seen())
    for event in store.events(run_id=run_id):
        if event.device_id is None:
            continue
        before = seen.get(event.device_id, _Seen())
        slot = event.data.get("slot")
        cart = event.data.get("cart")
        school = event.data.get("school")
        seen[event.device_id] = _Seen(
            slot=int(slot) if isinstance(slot, int) and not isinstance(slot, bool) else before.slot,
            cart=str(cart) if cart else before.cart,
            school_id=str(school) if isinstance(school, str) and school else before.school_id,
        )
    return seen


def labels_for_run(
    store: Store,
    run_id: str,
    slots: Iterable[int] | None = None,
    *,
    school_name: str = "",
    school_id: str = "",
    template: str = "default",
    base_url: str | None = None,
    cart: str | None = None,
) -> list[LabelData]:
    """The labels for the devices of run ``run_id`` (or ``"last"``), in slot order.

    Reads the store's records: the devices that have step results or events in the run,
    their newest asset tag, and the slot/cart from the run's event data (``"slot"``,
    ``"cart"`` keys). Devices without an asset tag are left out; with ``slots``, so are
    devices outside them or with no recorded slot.
    """
    qr = parse_template(template)
    if base_url is None:
        base_url = store.get_setting(BASE_URL_SETTING) or ""
    if cart is None:
        cart = store.get_setting(CART_SETTING) or ""
    wanted = frozenset(slots) if slots is not None else None
    resolved = _resolve_run(store, run_id)
    labels: list[LabelData] = []
    for device_id, seen in _seen_in_run(store, resolved).items():
        tags = store.asset_tags(device_id)
        device = store.device(device_id)
        if not tags:
            log.warning("device %s (%s) has no asset tag: no label", device_id, device.serial)
            continue
        if wanted is not None and seen.slot not in wanted:
            continue
        tag = tags[-1]
        sid = school_id or seen.school_id
        labels.append(
            LabelData(
                asset_tag=tag,
                school_name=school_name,
                school_id=sid,
                serial=device.serial,
                model=device.model,
                cart=seen.cart or cart,
                slot=seen.slot,
                qr_payload=qr.render(
                    asset_tag=tag, serial=device.serial, school_id=sid, base_url=base_url
                ),
            )
        )
    labels.sort(key=lambda d: (d.slot is None, d.slot or 0, d.asset_tag))
    return labels


def add_parser(subparsers: Any) -> None:
    """Add ``station labels``."""
    p = subparsers.add_parser("labels", help="asset-tag labels for a run's tablets")
    p.add_argument("--run", default="last", metavar="last|RUN_ID", help="which run (default last)")
    p.add_argument("--slots", type=str, default=None, metavar="1-30", help="only these slots")
    p.add_argument("--format", choices=FORMATS, default="pdf")
    p.add_argument("--out", type=Path, metavar="FILE", help="write here (PDF/PNG/ZPL/raster)")
    p.add_argument("--printer", metavar="ADDRESS", help="print now: tcp://HOST:9100, usb://...")
    p.add_argument("--sheet", default="L4736", help="A4 sheet type for pdf/png (default L4736)")
    p.add_argument(
        "--start", type=int, default=0, metavar="N", help="labels already used on the sheet"
    )
    p.add_argument("--label", default="62", help="Brother tape: " + ", ".join(BROTHER_LABELS))
    p.add_argument("--zpl-size", default="50x25", metavar="WxH", help="Zebra label in mm")
    p.add_argument("--zpl-dpmm", type=int, default=8, choices=(6, 8, 12, 24), help="dots per mm")
    p.add_argument(
        "--template", default="default", help='QR payload: "default", "plain" or a template'
    )
    p.add_argument(
        "--base-url", default=None, help="the inventory's address, e.g. https://inventar.example.de"
    )
    p.add_argument(
        "--blueprint", type=Path, default=None, help="take the school from this blueprint"
    )
    p.add_argument("--school-name", default="", help="school name printed on the labels")
    p.add_argument("--cart", default=None, help="cart name printed on the labels")
    p.add_argument(
        "--db", type=Path, default=None, help="records database (default: the station's)"
    )
    p.add_argument(
        "--queue", type=Path, default=None, metavar="DIR", help="keep unprinted jobs here"
    )
    p.set_defaults(func=run_labels)


def _output(args: argparse.Namespace, labels: Sequence[LabelData]) -> str:
    if args.format in ("pdf", "png"):
        if args.out is None:
            raise InputError(f"--format {args.format} needs --out FILE")
        sheet = get_sheet(args.sheet)
        if args.format == "pdf":
            args.out.write_bytes(render_pdf(labels, sheet, start_offset=args.start))
            return str(args.out)
        pages = sheet_pngs(labels, sheet, start_offset=args.start)
        written: list[str] = []
        for i, page in enumerate(pages, start=1):
            path = args.out if i == 1 else args.out.with_stem(f"{args.out.stem}-{i}")
            path.write_bytes(page)
            written.append(str(path))
        return ", ".join(written)
    if args.printer:
        setting = PrinterSetting(
            ZPL if args.format == "zpl" else BROTHER,
            args.printer,
            args.zpl_size if args.format == "zpl" else args.label,
            args.zpl_dpmm,
        )
        printer = open_printer(setting)
        queue_dir = args.queue or default_db_path().parent / "print-queue"
        PrintQueue(queue_dir, printer).submit(labels)
        return str(args.printer)
    out: Path | None = args.out
    if out is None:
        raise InputError(f"--format {args.format} needs --out FILE or --printer ADDRESS")
    if args.format == "zpl":
        args.out.write_bytes(labels_zpl(labels, zpl_size(args.zpl_size), dots_per_mm=args.zpl_dpmm))
    else:
        args.out.write_bytes(brother_instructions(labels, args.label))
    return str(args.out)


def run_labels(args: argparse.Namespace) -> int:
    try:
        slots = parse_slots(args.slots) if args.slots else None
        school_name, school_id = args.school_name, ""
        if args.blueprint is not None:
            school = load_blueprint(args.blueprint).school
            school_name, school_id = school_name or school.name, school.id
        with Store(args.db or default_db_path(), recover=False) as store:
            labels = labels_for_run(
                store,
                args.run,
                slots,
                school_name=school_name,
                school_id=school_id,
                template=args.template,
                base_url=args.base_url,
                cart=args.cart,
            )
        if not labels:
            raise InputError(
                f"run {args.run}: no tablet with an asset tag"
                + (f" in slots {args.slots}" if args.slots else "")
            )
        where = _output(args, labels)
    except InputError as exc:
        sys.stderr.write(f"station labels: {exc}\n")
        return 2
    except StationError as exc:  # printer off (job kept), database trouble
        sys.stderr.write(f"station labels: {exc}\n")
        return 1
    sys.stderr.write(f"{len(labels)} label(s) -> {where}\n")
    return 0
