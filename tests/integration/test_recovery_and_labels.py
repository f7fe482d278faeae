"""A recovery iPad on the virtual cart, then labels in slot order from the run's records."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from station.drivers.base import Presence
from station.drivers.usb import PyusbScanner
from station.jobs.engine import EngineSettings
from station.jobs.events import EventBus, EventType, JobState
from station.jobs.runner import Prepared, provision
from station.jobs.steps import STORAGE_HINT
from station.labels.cli import labels_for_run
from station.sim.cart import VirtualCart
from station.sim.scenario import Scenario, SlotOverride
from station.sim.usb.backend import get_backend
from station.store import DB_NAME, OutboxState, Store
from station.sync.targets import DeviceResult
from tests.integration.conftest import calibration_of, drivers_for

SETTINGS = EngineSettings(
    person_poll=0.1, backoff_scale=0.01, settle=0.2, usb_poll=0.05, cart_name="Wagen 1"
)


@pytest.mark.timeout(120)
async def test_recovery_ipad_needs_a_person_then_labels_follow_the_slots(
    cart_factory: Callable[..., Any], station_dir: Path, prepared_keep_adb: Prepared
) -> None:
    scenario = Scenario(
        slots={
            1: SlotOverride(trust="accept"),
            2: SlotOverride(trust="accept", recovery=True),
        }
    )
    cart: VirtualCart = await cart_factory(ipads=2, androids=1, scenario=scenario)
    bus = EventBus()
    events = bus.subscribe(maxsize=100_000)
    async with drivers_for(cart, station_dir) as (ios, android):
        with Store(station_dir / DB_NAME) as store:
            run = asyncio.ensure_future(
                provision(
                    prepared_keep_adb,
                    store=store,
                    ios=ios,
                    android=android,
                    usb=PyusbScanner(get_backend(cart.usb_snapshot_path)),
                    calibration=calibration_of(cart),
                    expect=3,
                    within=90,
                    settings=SETTINGS,
                    bus=bus,
                )
            )
            try:
                async with asyncio.timeout(60):
                    async for event in events:
                        if (
                            event.type is EventType.JOB
                            and event.state == JobState.NEEDS_PERSON.value
                            and event.slot == 2
                        ):
                            break
                assert event.hint == Presence.RECOVERY.hint
                assert "recovery" in event.detail
                # A person holds the power button: the iPad starts normally, its job goes on.
                await cart.reboot(2)
                result = await run
            finally:
                run.cancel()
                events.close()
            assert result.ok, result.jobs
            by_slot = {j["slot"]: j for j in result.jobs}
            assert sorted(by_slot) == [1, 2, 3]
            assert by_slot[2]["job"] == f"ios:{cart.slot(2).device_id}"

            labels = labels_for_run(store, result.run_id, template="plain")
            assert [(lb.slot, lb.asset_tag) for lb in labels] == [
                (s, by_slot[s]["asset_tag"]) for s in (1, 2, 3)
            ]
            assert {lb.cart for lb in labels} == {"Wagen 1"}
            rows = store.outbox(state=OutboxState.PENDING)
            results = sorted(
                (DeviceResult.model_validate(r.payload) for r in rows), key=lambda r: r.slot or 0
            )
            assert [(r.slot, r.asset_tag, r.milestone) for r in results] == [
                (s, by_slot[s]["asset_tag"], "provisioned") for s in (1, 2, 3)
            ]


@pytest.mark.timeout(120)
async def test_android_with_full_storage_fails_with_the_reason(
    cart_factory: Callable[..., Any], station_dir: Path, prepared_keep_adb: Prepared
) -> None:
    """The tablet's own reason (the package manager's words) reaches the job, not a bare FAIL."""
    scenario = Scenario(slots={1: SlotOverride(free_bytes=0)})
    cart: VirtualCart = await cart_factory(ipads=0, androids=1, scenario=scenario)
    async with drivers_for(cart, station_dir) as (ios, android):
        with Store(station_dir / DB_NAME) as store:
            result = await provision(
                prepared_keep_adb,
                store=store,
                ios=ios,
                android=android,
                usb=PyusbScanner(get_backend(cart.usb_snapshot_path)),
                calibration=calibration_of(cart),
                expect=1,
                within=90,
                settings=SETTINGS,
            )
            (job,) = result.jobs
            assert job["state"] == JobState.FAILED.value
            assert "not enough storage" in job["detail"]
            assert "INSTALL_FAILED_INSUFFICIENT_STORAGE" in job["detail"]
            assert job["hint"] == STORAGE_HINT
            (row,) = store.outbox(state=OutboxState.PENDING)
            failed = DeviceResult.model_validate(row.payload)
            assert (failed.status, failed.slot, failed.milestone) == ("failed", 1, None)
            assert "INSTALL_FAILED_INSUFFICIENT_STORAGE" in failed.error
