"""``station labels``: labels from the station's records, in slot order, through the CLI."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from PIL import Image

from station.blueprint import AssetTagScheme
from station.errors import InputError
from station.labels.cli import add_parser, labels_for_run, parse_slots
from station.store import StepStatus, Store
from tests.labels.helpers import decode_in_reading_order, free_port

SCHEME = AssetTagScheme("SEG042-", 5)
BASE = "https://inventar.example.de"


def _record_cart(store: Store, slots: list[int], *, cart: str = "B") -> str:
    """A run as the engine records it: device, tag, slot in the events, a result."""
    run = store.start_run("Bornhöved 2026/27", "hash").id
    for slot in slots:
        device = store.upsert_device("android", f"R52N{slot:04d}", "", model="SM-X200")
        store.allocate_asset_tag(SCHEME, device.id, run_id=run)
        store.record_event(
            "job.done", {"slot": slot, "cart": cart}, run_id=run, device_id=device.id
        )
        store.record_step_result(run, device.id, "result", StepStatus.DONE)
    return run


def test_labels_come_in_slot_order_with_tags_and_payloads(tmp_path: Path) -> None:
    with Store(tmp_path / "station.db") as store:
        run = _record_cart(store, [3, 1, 2])
        untagged = store.upsert_device("android", "NOTAG", "")
        store.record_step_result(run, untagged.id, "result", StepStatus.FAILED)
        labels = labels_for_run(store, run, school_name="Grundschule Bornhöved", base_url=BASE)
    assert [(label.slot, label.serial, label.cart) for label in labels] == [
        (1, "R52N0001", "B"),
        (2, "R52N0002", "B"),
        (3, "R52N0003", "B"),
    ]
    # Tags were allocated in recording order (slot 3 first).
    assert [label.asset_tag for label in labels] == ["SEG042-00002", "SEG042-00003", "SEG042-00001"]
    assert labels[0].qr_payload == f"{BASE}/ht/SEG042-00002"
    assert labels[0].model == "SM-X200"


def test_rerunning_a_cart_keeps_its_tags_and_last_means_newest(tmp_path: Path) -> None:
    with Store(tmp_path / "station.db") as store:
        first = _record_cart(store, [1, 2])
        _record_cart(store, [1, 2])
        again = labels_for_run(store, "last", template="plain")
        before = labels_for_run(store, first, template="plain")
    assert [label.asset_tag for label in again] == [label.asset_tag for label in before]
    assert [label.qr_payload for label in again] == ["SEG042-00001", "SEG042-00002"]


def test_slot_filter_and_errors(tmp_path: Path) -> None:
    assert parse_slots("1-3,7") == {1, 2, 3, 7}
    for bad in ("x", "3-1", "0-2"):
        with pytest.raises(InputError, match="slots"):
            parse_slots(bad)
    with Store(tmp_path / "station.db") as store:
        with pytest.raises(InputError, match="no runs"):
            labels_for_run(store, "last", template="plain")
        run = _record_cart(store, [1, 2, 3, 4])
        picked = labels_for_run(store, run, parse_slots("2-3"), template="plain")
        assert [label.slot for label in picked] == [2, 3]
        with pytest.raises(InputError, match=r"no run 'nope'.*recent runs"):
            labels_for_run(store, "nope", template="plain")
        with pytest.raises(InputError, match="unknown placeholder"):
            labels_for_run(store, run, template="{tag}")


def _main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="station")
    add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


def test_cli_writes_a_pdf_whose_qr_codes_scan(tmp_path: Path) -> None:
    db = tmp_path / "station.db"
    with Store(db) as store:
        _record_cart(store, [1, 2, 3, 4, 5])
    out = tmp_path / "labels.pdf"
    argv = ["labels", "--db", str(db), "--run", "last", "--slots", "2-4", "--format", "pdf"]
    argv += ["--out", str(out), "--sheet", "L7160", "--base-url", BASE]
    assert _main(argv) == 0
    doc = pdfium.PdfDocument(out.read_bytes())
    try:
        page = doc[0]
        bitmap = page.render(scale=300 / 72)
        image = bitmap.to_pil().copy()
        bitmap.close()
        page.close()
    finally:
        doc.close()
    assert decode_in_reading_order(image) == [f"{BASE}/ht/SEG042-{n:05d}" for n in (2, 3, 4)]


def test_cli_refuses_unknown_sheet_and_keeps_labels_for_an_off_printer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "station.db"
    with Store(db) as store:
        _record_cart(store, [1, 2])
    base = ["labels", "--db", str(db), "--template", "plain"]
    assert _main([*base, "--format", "pdf", "--out", str(tmp_path / "x.pdf"), "--sheet", "Q1"]) == 2
    assert "unknown label sheet 'Q1'" in capsys.readouterr().err
    port = free_port()
    queue = tmp_path / "queue"
    argv = [*base, "--format", "zpl", "--printer", f"tcp://127.0.0.1:{port}", "--queue", str(queue)]
    assert _main(argv) == 1
    assert "labels are kept" in capsys.readouterr().err
    assert len(list(queue.glob("*.json"))) == 1


def test_cli_png_pages_continue_a_half_used_sheet(tmp_path: Path) -> None:
    db = tmp_path / "station.db"
    with Store(db) as store:
        _record_cart(store, [1, 2, 3, 4, 5])
    out = tmp_path / "labels.png"
    argv = ["labels", "--db", str(db), "--format", "png", "--out", str(out), "--sheet", "L7160"]
    assert _main([*argv, "--start", "19", "--template", "plain"]) == 0
    pages = [Image.open(io.BytesIO(p.read_bytes())) for p in (out, tmp_path / "labels-2.png")]
    decoded = [text for page in pages for text in decode_in_reading_order(page)]
    assert decoded == [f"SEG042-{n:05d}" for n in (1, 2, 3, 4, 5)]
    assert len(decode_in_reading_order(pages[0])) == 2
