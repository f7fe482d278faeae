"""The relay against httpx.MockTransport hubs: batching, idempotency, backoff, dead letters."""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from station.store import OutboxState, StepStatus, Store
from station.sync.backoff import Backoff, parse_retry_after
from station.sync.hub_client import HubTarget
from station.sync.relay import Relay
from station.sync.status import describe, sync_status
from station.sync.targets import DeviceResult, hub_entry

T0 = dt.datetime(2026, 11, 2, 8, 0, tzinfo=dt.UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> Iterator[Store]:
    with Store(tmp_path / "station.db", now=clock) as s:
        yield s


def record(store: Store, serials: list[str], *, status: StepStatus = StepStatus.DONE) -> None:
    run = store.start_run("bp", "hash")
    for serial in serials:
        device = store.upsert_device("ios", serial, udid=serial, model="iPad13,1")
        result = DeviceResult(
            serial=serial,
            platform="ios",
            step="enroll",
            status="done" if status is StepStatus.DONE else "failed",
            recorded_at=T0,
            school="Realschule Nord",
        )
        store.record_step_result(run.id, device.id, "enroll", status, outbox=[hub_entry(result)])


class FakeHub:
    """A hub behind MockTransport: stores per key, can be told to fail."""

    def __init__(self) -> None:
        self.stored: dict[str, dict[str, Any]] = {}
        self.requests: list[dict[str, Any]] = []
        self.next: list[Callable[[httpx.Request], httpx.Response]] = []
        self.reject_serials: set[str] = set()
        self.tokens_seen: set[str] = set()

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.tokens_seen.add(request.headers["authorization"])
        if self.next:
            return self.next.pop(0)(request)
        body = json.loads(request.content)
        self.requests.append(body)
        if request.url.path.endswith("/heartbeat"):
            return httpx.Response(200, json={"station": "x"})
        if (
            any(i["payload"]["serial"] in self.reject_serials for i in body["items"])
            and len(body["items"]) > 1
        ):
            return httpx.Response(422, json={"error": "malformed batch", "details": ["x"]})
        results = []
        for item in body["items"]:
            if item["payload"]["serial"] in self.reject_serials:
                results.append({"key": item["key"], "status": "rejected", "error": "bad serial"})
            elif item["key"] in self.stored:
                results.append({"key": item["key"], "status": "duplicate"})
            else:
                self.stored[item["key"]] = item["payload"]
                results.append({"key": item["key"], "status": "accepted"})
        return httpx.Response(200, json={"results": results})


def make_relay(store: Store, hub: FakeHub, clock: Clock, *, batch_size: int = 10) -> Relay:
    target = HubTarget(
        "https://hub.example/",
        "st_secret",
        batch_size=batch_size,
        transport=httpx.MockTransport(hub.handler),
    )
    backoff = Backoff(base=2.0, cap=60.0, rng=random.Random(7))
    return Relay(store, {"hub": target}, backoff=backoff, now=clock)


async def test_drain_sends_in_batches_with_keys(store: Store, clock: Clock) -> None:
    hub = FakeHub()
    record(store, [f"SER{i:04d}" for i in range(25)])
    relay = make_relay(store, hub, clock)
    try:
        report = await relay.drain_once()
    finally:
        await relay.aclose()
    assert report.sent == 25
    assert report.ok
    assert [len(r["items"]) for r in hub.requests] == [10, 10, 5]
    keys = {r.idempotency_key for r in store.outbox()}
    assert set(hub.stored) == keys
    assert hub.requests[0]["station"]["backlog"] == 25
    assert hub.tokens_seen == {"Bearer st_secret"}
    assert not store.outbox(state=OutboxState.PENDING)
    assert sync_status(store).last_success == T0


async def test_a_redelivered_row_counts_once(store: Store, clock: Clock) -> None:
    """The station died after the hub stored the batch but before marking it sent."""
    hub = FakeHub()
    record(store, ["SER0001", "SER0002"])
    row = store.outbox()[0]
    hub.stored[row.idempotency_key] = dict(row.payload)
    relay = make_relay(store, hub, clock)
    try:
        report = await relay.drain_once()
    finally:
        await relay.aclose()
    assert report.sent == 2
    assert len(hub.stored) == 2


async def test_server_errors_back_off_with_jitter_and_hold_the_target(
    store: Store, clock: Clock
) -> None:
    hub = FakeHub()
    record(store, [f"SER{i:04d}" for i in range(15)])
    hub.next = [lambda r: httpx.Response(503, json={"error": "maintenance"})]
    relay = make_relay(store, hub, clock)
    try:
        report = await relay.drain_once()
        assert (report.sent, report.retried, report.not_tried) == (0, 10, 5)
        pending = store.outbox(state=OutboxState.PENDING)
        assert len(pending) == 15
        tried = [r for r in pending if r.attempts == 1]
        assert len(tried) == 10
        delays = {dt.datetime.fromisoformat(r.next_attempt_at) - T0 for r in tried}
        assert all(dt.timedelta(0) <= d <= dt.timedelta(seconds=2) for d in delays)
        assert len(delays) > 1  # jitter: not all at the same instant
        assert "maintenance" in tried[0].last_error
        # While held, the untried rows are not sent either (no hammering a down hub).
        again = await relay.drain_once()
        assert again.sent == 0
        assert not hub.requests
        clock.advance(120)
        final = await relay.drain_once()
    finally:
        await relay.aclose()
    assert final.sent == 15
    assert len(hub.stored) == 15


async def test_retry_after_is_honoured(store: Store, clock: Clock) -> None:
    hub = FakeHub()
    record(store, ["SER0001"])
    hub.next = [lambda r: httpx.Response(429, headers={"Retry-After": "300"})]
    relay = make_relay(store, hub, clock)
    try:
        await relay.drain_once()
        row = store.outbox()[0]
        wait = dt.datetime.fromisoformat(row.next_attempt_at) - T0
        assert dt.timedelta(seconds=300) <= wait <= dt.timedelta(seconds=302)
        clock.advance(200)
        assert (await relay.drain_once()).sent == 0
        clock.advance(110)
        assert (await relay.drain_once()).sent == 1
    finally:
        await relay.aclose()


async def test_connection_refused_is_a_retry(store: Store, clock: Clock) -> None:
    record(store, ["SER0001"])

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    target = HubTarget("https://hub.example/", "tok", transport=httpx.MockTransport(refuse))
    relay = Relay(store, {"hub": target}, now=clock)
    try:
        report = await relay.drain_once()
    finally:
        await relay.aclose()
    assert report.retried == 1
    row = store.outbox()[0]
    assert row.state is OutboxState.PENDING
    assert "connection refused" in row.last_error
    assert "hub unreachable" in sync_status(store).last_error


async def test_bad_rows_go_to_dead_letters_alone_and_can_be_resent(
    store: Store, clock: Clock
) -> None:
    hub = FakeHub()
    hub.reject_serials = {"SER0003"}
    record(store, [f"SER{i:04d}" for i in range(8)])
    relay = make_relay(store, hub, clock)
    try:
        report = await relay.drain_once()
        assert (report.sent, report.dead) == (7, 1)
        dead = store.outbox(state=OutboxState.DEAD)
        assert [r.natural_key for r in dead] == ["SER0003"]
        assert "bad serial" in dead[0].last_error
        status = sync_status(store)
        assert status.dead == 1
        assert status.pending == 0
        assert any("need a person:   1" in line for line in describe(status))

        hub.reject_serials = set()
        assert store.outbox_resend(dead[0].id)
        assert not store.outbox_resend(dead[0].id)  # no longer dead
        assert (await relay.drain_once()).sent == 1
    finally:
        await relay.aclose()
    assert len(hub.stored) == 8


async def test_wrong_token_keeps_rows_pending(store: Store, clock: Clock) -> None:
    hub = FakeHub()
    record(store, ["SER0001"])
    hub.next = [lambda r: httpx.Response(401, json={"error": "unknown token"})]
    relay = make_relay(store, hub, clock)
    try:
        report = await relay.drain_once()
    finally:
        await relay.aclose()
    assert report.retried == 1
    row = store.outbox()[0]
    assert row.state is OutboxState.PENDING
    assert "token" in row.last_error
    assert "st_secret" not in row.last_error


async def test_garbage_reply_is_not_taken_as_success(store: Store, clock: Clock) -> None:
    hub = FakeHub()
    record(store, ["SER0001"])
    hub.next = [lambda r: httpx.Response(200, text="<html>captive portal</html>")]
    relay = make_relay(store, hub, clock)
    try:
        report = await relay.drain_once()
    finally:
        await relay.aclose()
    assert report.retried == 1
    assert report.sent == 0


async def test_rows_for_unconfigured_targets_wait(store: Store, clock: Clock) -> None:
    record(store, ["SER0001"])
    relay = Relay(store, {}, now=clock)
    report = await relay.drain_once()
    assert report.unconfigured == {"hub": 1}
    assert store.outbox()[0].attempts == 0


def test_full_jitter_bounds() -> None:
    backoff = Backoff(base=1.0, cap=30.0, rng=random.Random(1))
    for attempt in range(12):
        values = [backoff.delay(attempt) for _ in range(200)]
        assert all(0 <= v <= min(30.0, 2**attempt) for v in values)
    assert backoff.delay(3, retry_after=100.0) >= 100.0


def test_retry_after_parsing() -> None:
    now = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("Thu, 01 Jan 2026 12:01:00 GMT", now=now) == 60.0
    assert parse_retry_after("Thu, 01 Jan 2026 11:00:00 GMT", now=now) == 0.0
    for junk in (None, "", "soon", "-5", "1.5e9"):
        assert parse_retry_after(junk) is None
