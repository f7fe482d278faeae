"""MDM import files and the ``station sync`` commands over a real store."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from station.store import OutboxState, StepStatus, Store
from station.sync import cli as sync_cli
from station.sync.mdm_files import MdmDevice, devices_from_store, render
from station.sync.targets import AssetRecord, asset_entry


@pytest.fixture(autouse=True)
def _no_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")


DEVICES = [
    MdmDevice("DMPX1234ABCD", "ios", "iPad13,1", "Nord-01", "NH-00001", imei="356789012345678"),
    MdmDevice("R58N12ABCDE", "android", "SM-X200", "Nord-02", "=cmd|' /C calc'!A0"),
    MdmDevice("bad serial!", "ios"),
    MdmDevice("DMPX1234ABCD", "ios", "iPad13,1", "Nord-01 again"),
]


def test_jamf_school_placeholders() -> None:
    out = render(DEVICES, "jamf-school")
    rows = list(csv.reader(io.StringIO(out.text)))
    assert rows[0] == ["SerialNumber", "Identification", "AssetTag", "AssignToUser"]
    assert rows[1] == ["DMPX1234ABCD", "Nord-01", "NH-00001", ""]
    assert rows[2][0] == "R58N12ABCDE"
    assert rows[2][2].startswith("'=")  # no formula for Excel to run
    assert out.written == 2
    assert len(out.skipped) == 1
    assert out.text.endswith("\r\n")


def test_intune_files_have_no_header_and_one_identifier_type() -> None:
    serials = list(csv.reader(io.StringIO(render(DEVICES, "intune-serial").text)))
    assert [r[0] for r in serials] == ["DMPX1234ABCD", "R58N12ABCDE"]
    assert all(len(r) == 2 for r in serials)
    imeis = render(DEVICES, "intune-imei")
    assert list(csv.reader(io.StringIO(imeis.text))) == [["356789012345678", "NH-00001 Nord-01"]]
    assert len(imeis.skipped) == 3


def test_generic_and_unknown_format() -> None:
    rows = list(csv.DictReader(io.StringIO(render(DEVICES, "generic").text)))
    assert rows[0]["serial"] == "DMPX1234ABCD"
    assert rows[0]["imei"] == "356789012345678"
    from station.errors import InputError

    with pytest.raises(InputError):
        render(DEVICES, "relution")


def _seed(data: Path) -> None:
    with Store(data / "station.db") as store:
        run = store.start_run("bp", "h")
        for i, model in enumerate(["Unknown", "iPad (9th generation)"]):
            device = store.upsert_device("ios", f"SER{i:05d}", udid=f"u{i}", model="iPad13,1")
            entry = asset_entry(AssetRecord(serial=f"SER{i:05d}", model=model))
            store.record_step_result(
                run.id, device.id, "inventory", StepStatus.DONE, outbox=[entry]
            )
        rows = store.outbox()
        store.outbox_failed(rows[0].id, "Snipe-IT has no model named 'Unknown'", retry_at=None)


def test_sync_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "station"
    _seed(data)
    assert sync_cli.main(["sync", "status", "--data-dir", str(data), "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert (status["pending"], status["dead"], status["targets"]) == (1, 1, [])

    assert sync_cli.main(["sync", "status", "--data-dir", str(data)]) == 0
    text = capsys.readouterr().out
    assert "waiting to send: 1 (snipeit 1)" in text
    assert "station sync dead" in text

    assert sync_cli.main(["sync", "dead", "--data-dir", str(data), "--json"]) == 0
    dead = json.loads(capsys.readouterr().out)
    assert [d["natural_key"] for d in dead] == ["SER00000"]
    assert "no model named" in dead[0]["error"]

    # Nothing is set up: ``run`` leaves the rows alone and says so.
    assert sync_cli.main(["sync", "run", "--data-dir", str(data)]) == 0
    assert "not set up" in capsys.readouterr().out

    assert sync_cli.main(["sync", "resend", "--data-dir", str(data), str(dead[0]["id"])]) == 0
    assert sync_cli.main(["sync", "resend", "--data-dir", str(data), "999"]) == 1
    capsys.readouterr()
    with Store(data / "station.db", recover=False) as store:
        assert not store.outbox(state=OutboxState.DEAD)
        assert store.outbox()[0].attempts == 0

    out = tmp_path / "jamf.csv"
    assert (
        sync_cli.main(["sync", "mdm-export", "--data-dir", str(data), "jamf-school", str(out)]) == 0
    )
    assert out.read_text().splitlines()[1:] == ["SER00000,SER00000,,", "SER00001,SER00001,,"]
    with Store(data / "station.db", recover=False) as store:
        assert [d.serial for d in devices_from_store(store)] == ["SER00000", "SER00001"]


def test_set_hub_keeps_the_token_out_of_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "station"
    data.mkdir()
    monkeypatch.setattr("sys.stdin", io.StringIO("st_very_secret_token\n"))
    assert (
        sync_cli.main(
            ["sync", "set-hub", "--data-dir", str(data), "--token-stdin", "https://hub.example/"]
        )
        == 0
    )
    assert "st_very_secret_token" not in capsys.readouterr().out
    assert b"st_very_secret_token" not in (data / "station.db").read_bytes()
    for wal in data.glob("station.db-*"):
        assert b"st_very_secret_token" not in wal.read_bytes()
    monkeypatch.setattr("sys.stdin", io.StringIO("x\n"))
    assert (
        sync_cli.main(["sync", "set-hub", "--data-dir", str(data), "--token-stdin", "ftp://nope"])
        == 1
    )
