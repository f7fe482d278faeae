"""The county hub over HTTP on loopback: tokens, idempotent ingest, malformed input, exports."""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from station.hub import cli as hub_cli
from station.hub.db import HubDB
from tests.hub.conftest import RunningHub

T0 = dt.datetime(2026, 11, 2, 8, 0, tzinfo=dt.UTC)


def result(serial: str, **extra: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "serial": serial,
        "platform": "ios",
        "step": "enroll",
        "status": "done",
        "recorded_at": T0.isoformat(),
        "operator": "Stadt Nordhafen",
        "school": "Realschule Nord",
        "cart": "cart-1",
        "cart_size": 3,
        "milestone": "provisioned",
    }
    payload.update(extra)
    return payload


def batch(*items: tuple[str, dict[str, Any]], backlog: int = 0) -> dict[str, Any]:
    return {
        "station": {"station_id": "uuid-1", "version": "0.1.0", "backlog": backlog},
        "items": [{"key": k, "op": "device_result", "payload": p} for k, p in items],
    }


def post(hub: RunningHub, token: str | None, body: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    if isinstance(body, bytes):
        return hub.client.post("api/v1/batches", content=body, headers=headers)
    return hub.client.post("api/v1/batches", json=body, headers=headers)


def get(hub: RunningHub, path: str) -> httpx.Response:
    return hub.client.get(path)


def test_missing_or_wrong_token_is_refused(hub: RunningHub) -> None:
    hub.db.add_station("north")
    body = batch(("k1", result("SER0001")))
    for token in (None, "st_wrong", "st_wrong x"):
        response = post(hub, token, body)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert "error" in response.json()
    assert hub.db.count_records() == 0


def test_replayed_batch_changes_nothing(hub: RunningHub) -> None:
    token = hub.db.add_station("north")
    body = batch(("k1", result("SER0001")), ("k2", result("SER0002")))
    first = post(hub, token, body)
    assert first.status_code == 200
    assert [r["status"] for r in first.json()["results"]] == ["accepted", "accepted"]
    before = hub.db.records()

    again = post(hub, token, body)
    assert [r["status"] for r in again.json()["results"]] == ["duplicate", "duplicate"]
    assert hub.db.records() == before
    # Same key with a different payload is still the first answer (the key decides).
    changed = post(hub, token, batch(("k1", result("SER0001", status="failed", error="x"))))
    assert changed.json()["results"][0]["status"] == "duplicate"
    assert hub.db.records() == before


def test_keys_are_per_station(hub: RunningHub) -> None:
    north = hub.db.add_station("north")
    south = hub.db.add_station("south")
    assert post(hub, north, batch(("k1", result("SER0001")))).json()["results"][0]["status"] == (
        "accepted"
    )
    assert post(hub, south, batch(("k1", result("SER0009")))).json()["results"][0]["status"] == (
        "accepted"
    )
    assert sorted(r["station"] for r in hub.db.records()) == ["north", "south"]


def test_malformed_batches_are_rejected_and_do_not_poison_later_ones(hub: RunningHub) -> None:
    token = hub.db.add_station("north")
    not_json = post(hub, token, b"{not json")
    assert not_json.status_code == 400
    assert "not JSON" in not_json.json()["error"]

    wrong_shape = post(hub, token, {"items": "nope"})
    assert wrong_shape.status_code == 422
    assert wrong_shape.json()["error"] == "malformed batch"
    assert any("items" in d for d in wrong_shape.json()["details"])

    unknown_op = post(hub, token, {"items": [{"key": "k", "op": "drop_tables", "payload": {}}]})
    assert unknown_op.status_code == 422

    # One bad item is rejected alone, with the reason; its neighbours are stored.
    mixed = post(
        hub,
        token,
        batch(
            ("good-1", result("SER0001")),
            ("bad", result("SER0002", platform="windows", recorded_at="yesterday")),
            ("good-2", result("SER0003")),
        ),
    )
    assert mixed.status_code == 200
    results = mixed.json()["results"]
    assert [r["status"] for r in results] == ["accepted", "rejected", "accepted"]
    assert "platform" in results[1]["error"]
    assert "recorded_at" in results[1]["error"]

    after = post(hub, token, batch(("k9", result("SER0009"))))
    assert after.json()["results"][0]["status"] == "accepted"
    assert sorted(r["serial"] for r in hub.db.records()) == ["SER0001", "SER0003", "SER0009"]
    # A rejection is not remembered: the fixed message with the same key goes in.
    fixed = post(hub, token, batch(("bad", result("SER0002"))))
    assert fixed.json()["results"][0]["status"] == "accepted"


def test_hostile_text_is_stored_verbatim_and_escaped_on_the_dashboard(hub: RunningHub) -> None:
    token = hub.db.add_station("north")
    evil = "<script>alert(1)</script>'; DROP TABLE records; --"
    response = post(
        hub, token, batch(("k1", result("SER0001", status="failed", error=evil, school=evil[:60])))
    )
    assert response.json()["results"][0]["status"] == "accepted"
    assert hub.db.records()[0]["error"] == evil
    page = get(hub, "").text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_heartbeat_and_station_table(hub: RunningHub) -> None:
    token = hub.db.add_station("north")
    hub.db.add_station("idle")
    response = hub.client.post(
        "api/v1/heartbeat",
        json={"station_id": "u", "version": "9.9", "backlog": 7},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200
    stations = {s["name"]: s for s in hub.db.stations()}
    assert stations["north"]["version"] == "9.9"
    assert stations["north"]["backlog"] == 7
    assert stations["north"]["last_heartbeat"] is not None
    assert stations["idle"]["last_heartbeat"] is None


def test_summary_and_exports(hub: RunningHub) -> None:
    token = hub.db.add_station("north")
    items = [
        ("a1", result("SER0001")),
        ("a2", result("SER0001", step="label", milestone="labelled")),
        ("b1", result("SER0002")),
        ("c1", result("SER0003", status="failed", milestone=None, error="MDM unreachable")),
        ("c2", result("SER0004", status="failed", milestone=None, error="MDM unreachable")),
        ("d1", result("SER0001", school="Gymnasium Süd", cart="cart-9", cart_size=30)),
    ]
    assert post(hub, token, batch(*items, backlog=3)).status_code == 200
    summary = get(hub, "export/summary.json").json()
    schools = {(s["operator"], s["school"]): s for s in summary["schools"]}
    north = schools[("Stadt Nordhafen", "Realschule Nord")]
    assert (north["devices"], north["provisioned"], north["labelled"]) == (4, 2, 1)
    carts = {c["cart"]: c for c in summary["carts"]}
    assert (carts["cart-1"]["provisioned"], carts["cart-1"]["size"]) == (2, 3)
    assert summary["failures"] == [
        {"step": "enroll", "error": "MDM unreachable", "count": 2, "devices": 2}
    ]
    assert summary["serials_at_several_schools"] == [
        {
            "serial": "SER0001",
            "schools": ["Stadt Nordhafen / Gymnasium Süd", "Stadt Nordhafen / Realschule Nord"],
        }
    ]
    assert summary["stations"][0]["backlog"] == 3

    records_csv = get(hub, "export/records.csv")
    assert records_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(records_csv.text)))
    assert len(rows) == 6
    assert {r["station"] for r in rows} == {"north"}
    records_json = get(hub, "export/records.json").json()
    assert sorted(r["idempotency_key"] for r in records_json) == sorted(k for k, _ in items)
    failures = list(csv.DictReader(io.StringIO(get(hub, "export/failures.csv").text)))
    assert failures == [
        {"step": "enroll", "error": "MDM unreachable", "count": "2", "devices": "2"}
    ]
    assert get(hub, "export/nope.csv").status_code == 404


def test_csv_export_defuses_spreadsheet_formulas(hub: RunningHub) -> None:
    token = hub.db.add_station("north")
    post(hub, token, batch(("k", result("SER0001", status="failed", error="=HYPERLINK(1)"))))
    rows = list(csv.DictReader(io.StringIO(get(hub, "export/records.csv").text)))
    assert rows[0]["error"] == "'=HYPERLINK(1)"


def test_token_is_never_stored_or_logged(hub: RunningHub, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    token = hub.db.add_station("north")
    post(hub, token, batch(("k1", result("SER0001"))))
    post(hub, token + "x", batch(("k2", result("SER0002"))))
    assert token not in caplog.text
    secret_part = token.removeprefix("st_")
    with hub.db.engine.connect() as conn:
        for table in ("stations", "ingest_keys", "records"):
            for row in conn.execute(sa.text(f"SELECT * FROM {table}")):
                assert all(secret_part not in str(value) for value in row)


def test_rotated_token_replaces_the_old_one(hub: RunningHub) -> None:
    old = hub.db.add_station("north")
    new = hub.db.rotate_token("north")
    assert post(hub, old, batch(("k", result("SER0001")))).status_code == 401
    assert post(hub, new, batch(("k", result("SER0001")))).status_code == 200


def test_add_station_command_prints_a_working_token_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    assert hub_cli.main(["hub", "add-station", "--db", url, "north"]) == 0
    token = capsys.readouterr().out.strip()
    assert token.startswith("st_")
    assert hub_cli.main(["hub", "add-station", "--db", url, "north"]) == 1
    assert "exists already" in capsys.readouterr().err
    db = HubDB(url)
    try:
        station = db.authenticate(token)
        assert station is not None
        assert station.name == "north"
        assert db.authenticate(token + "x") is None
    finally:
        db.close()
    assert token.encode() not in (tmp_path / "hub.db").read_bytes()
