"""The Snipe-IT connector against a local server that behaves as Snipe-IT's API documents."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from station.errors import UpstreamRefused, UpstreamUnavailable
from station.store import OutboxState, StepStatus, Store
from station.sync.relay import Relay
from station.sync.snipeit import SnipeItClient, SnipeItSettings, SnipeItTarget
from station.sync.targets import AssetRecord, asset_entry
from tests.hub.servers import ThreadedServer
from tests.sync.snipeit_fake import FakeSnipeIt

TOKEN = "snipe-token-123"


@pytest.fixture
def snipe() -> Iterator[tuple[FakeSnipeIt, str]]:
    fake = FakeSnipeIt(TOKEN)
    with ThreadedServer(fake) as server:
        yield fake, server.url


def client(url: str, **maps: dict[str, int]) -> SnipeItClient:
    settings = SnipeItSettings(url=url, status_id=2, **maps)
    return SnipeItClient(settings, TOKEN)


def ipad(serial: str, **extra: str) -> AssetRecord:
    fields = {
        "model": "iPad (9th generation)",
        "operator": "Stadt Nordhafen",
        "school": "Realschule Nord",
    } | extra
    return AssetRecord(serial=serial, **fields)


async def test_creates_then_updates_by_serial(snipe: tuple[FakeSnipeIt, str]) -> None:
    fake, url = snipe
    c = client(url)
    try:
        action, asset_id = await c.upsert(ipad("DMPX1234ABCD", asset_tag="NH-00001"))
        assert action == "created"
        asset = fake.assets[asset_id]
        assert (asset["company_id"], asset["rtd_location_id"], asset["model_id"]) == (1, 10, 100)
        assert asset["status_id"] == 2
        moved = ipad("DMPX1234ABCD", school="Gymnasium Süd", operator="Landkreis Süd")
        action, same_id = await c.upsert(moved)
    finally:
        await c.aclose()
    assert (action, same_id) == ("updated", asset_id)
    assert len(fake.assets) == 1
    assert fake.assets[asset_id]["rtd_location_id"] == 11
    assert fake.assets[asset_id]["company_id"] == 2
    assert ("GET", "/api/v1/hardware/byserial/DMPX1234ABCD") in fake.log


async def test_200_with_error_body_is_an_error(snipe: tuple[FakeSnipeIt, str]) -> None:
    fake, url = snipe
    fake.assets[1] = {"id": 1, "serial": "OTHER", "asset_tag": "NH-1", "model_id": 100}
    c = client(url)
    try:
        with pytest.raises(UpstreamRefused, match="asset tag must be unique"):
            await c.upsert(ipad("NEWSERIAL01", asset_tag="NH-1"))
        with pytest.raises(UpstreamRefused, match="no model named 'Nokia 3310'"):
            await c.upsert(ipad("NEWSERIAL02", model="Nokia 3310"))
        with pytest.raises(UpstreamRefused, match="no location named"):
            await c.upsert(ipad("NEWSERIAL03", school="Nowhere School"))
        # A mapped id Snipe-IT does not know: rejected by the server, in a 200 body.
        bad = client(url, model_ids={"iPad (9th generation)": 999})
        try:
            with pytest.raises(UpstreamRefused, match="model id is invalid"):
                await bad.upsert(ipad("NEWSERIAL04"))
        finally:
            await bad.aclose()
    finally:
        await c.aclose()
    assert list(fake.assets) == [1]


async def test_duplicate_serials_need_a_person(snipe: tuple[FakeSnipeIt, str]) -> None:
    fake, url = snipe
    for i in (1, 2):
        fake.assets[i] = {"id": i, "serial": "DUP00001", "asset_tag": f"T{i}", "model_id": 100}
    c = client(url)
    try:
        with pytest.raises(UpstreamRefused, match="2 assets with serial DUP00001"):
            await c.upsert(ipad("DUP00001"))
    finally:
        await c.aclose()


async def test_429_and_wrong_token_are_passing_problems(snipe: tuple[FakeSnipeIt, str]) -> None:
    fake, url = snipe
    fake.throttle = 0
    c = client(url)
    try:
        with pytest.raises(UpstreamUnavailable) as info:
            await c.upsert(ipad("SER00001"))
        assert info.value.retry_after == 7.0
    finally:
        await c.aclose()
    fake.throttle = 100
    wrong = SnipeItClient(SnipeItSettings(url=url, status_id=2), "wrong")
    try:
        with pytest.raises(UpstreamUnavailable, match="refused the API token"):
            await wrong.upsert(ipad("SER00001"))
    finally:
        await wrong.aclose()


async def test_relay_delivers_assets_respecting_the_rate_limit(
    snipe: tuple[FakeSnipeIt, str], tmp_path: Path
) -> None:
    fake, url = snipe
    now = [dt.datetime(2026, 11, 2, 8, 0, tzinfo=dt.UTC)]
    with Store(tmp_path / "station.db", now=lambda: now[0]) as store:
        run = store.start_run("bp", "h")
        for i in range(6):
            device = store.upsert_device("ios", f"SER{i:05d}", udid=f"u{i}")
            entries = [asset_entry(ipad(f"SER{i:05d}", asset_tag=f"NH-{i:05d}"))]
            if i == 4:
                entries = [asset_entry(ipad(f"SER{i:05d}", model="Unknown Model"))]
            store.record_step_result(
                run.id, device.id, "inventory", StepStatus.DONE, outbox=entries
            )
        # 3 lookups (companies, locations, models) are cached after the first asset; each
        # asset then costs byserial + POST: the limit runs out part-way.
        fake.throttle = 7
        relay = Relay(store, {"snipeit": SnipeItTarget(client(url))}, now=lambda: now[0])
        try:
            first = await relay.drain_once()
            assert first.sent == 2
            assert first.retried == 1
            assert fake.count_429 == 1
            retry_row = store.outbox(state=OutboxState.PENDING)[0]
            assert retry_row.attempts == 1
            wait = dt.datetime.fromisoformat(retry_row.next_attempt_at) - now[0]
            assert wait >= dt.timedelta(seconds=7)
            assert "rate limit" in retry_row.last_error
            fake.throttle = 1000
            now[0] += dt.timedelta(seconds=3600)
            second = await relay.drain_once()
        finally:
            await relay.aclose()
        assert (second.sent, second.dead) == (3, 1)
        dead = store.outbox(state=OutboxState.DEAD)
        assert [r.natural_key for r in dead] == ["SER00004"]
        assert "no model named 'Unknown Model'" in dead[0].last_error
    assert sorted(a["serial"] for a in fake.assets.values()) == [
        f"SER{i:05d}" for i in (0, 1, 2, 3, 5)
    ]
