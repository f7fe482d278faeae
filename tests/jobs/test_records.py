"""What the engine records for later: slots and carts for labels, hub rows, recovery iPads."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable

from station.drivers.base import Presence, SlotCalibration, UsbKind, UsbPortDevice
from station.jobs.engine import Engine, EngineSettings
from station.jobs.events import JobState
from station.jobs.runner import Prepared
from station.labels.cli import labels_for_run
from station.store import OutboxState, Store
from station.sync.targets import OP_DEVICE_RESULT, TARGET_HUB, DeviceResult
from tests.fakes import (
    FakeAndroidDriver,
    FakeIosDriver,
    FakeTablet,
    FakeUsbScanner,
    register_apps,
)


async def until(condition: Callable[[], bool]) -> None:
    """Poll the engine's state (it changes on its own tasks); generous, not timed."""
    for _ in range(2000):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("the engine never got there")


PORTS = {"1-1.1": 3, "1-1.2": 1, "1-1.3": 2}  # plugged in port order, slots out of order


def engine(
    store: Store,
    prepared: Prepared,
    ios: FakeIosDriver,
    android: FakeAndroidDriver,
    *,
    usb: FakeUsbScanner | None = None,
    cart: str = "Wagen 3",
) -> Engine:
    register_apps(prepared.blueprint, ios, android)
    run = store.start_run(prepared.blueprint.name, prepared.blueprint.content_hash)
    return Engine(
        store=store,
        blueprint=prepared.blueprint,
        run_id=run.id,
        secrets=prepared.secrets,
        identity=prepared.identity,
        ios=ios,
        android=android,
        usb=usb,
        calibration=SlotCalibration(PORTS),
        settings=EngineSettings(
            person_poll=0.02, backoff_scale=0.001, settle=0.05, usb_poll=0.01, cart_name=cart
        ),
        rng=random.Random(1),
    )


async def test_labels_come_in_slot_order_with_slot_cart_and_tag(
    store: Store, prepared: Prepared, ios: FakeIosDriver, android: FakeAndroidDriver
) -> None:
    tablets = [FakeTablet(serial=f"R52X{n:07d}") for n in range(3)]
    for t, port in zip(tablets, PORTS, strict=True):
        android.plug(t, port)
    async with engine(store, prepared, ios, android) as e:
        assert await e.wait(expect=3, within=20)
    by_serial = {j.serial: j for j in e.jobs.values()}
    assert all(j.state is JobState.DONE for j in by_serial.values())
    labels = labels_for_run(store, e.run_id, template="plain")
    assert [label.slot for label in labels] == [1, 2, 3]
    assert [label.serial for label in labels] == [
        tablets[1].serial,
        tablets[2].serial,
        tablets[0].serial,
    ]
    for label in labels:
        assert label.asset_tag == by_serial[label.serial].asset_tag
        assert label.asset_tag
        assert label.cart == "Wagen 3"
        assert label.school_id == prepared.blueprint.school.id
    assert [label.slot for label in labels_for_run(store, e.run_id, [2, 3], template="plain")] == [
        2,
        3,
    ]

    # The hub rows are DeviceResults the relay can deliver.
    rows = store.outbox(state=OutboxState.PENDING)
    assert {(r.target, r.op) for r in rows} == {(TARGET_HUB, OP_DEVICE_RESULT)}
    results = sorted(
        (DeviceResult.model_validate(r.payload) for r in rows), key=lambda r: r.slot or 0
    )
    assert [(r.slot, r.serial) for r in results] == [(lb.slot, lb.serial) for lb in labels]
    for result in results:
        assert result.status == "done"
        assert result.milestone == "provisioned"
        assert result.cart == "Wagen 3"
        assert result.school == prepared.blueprint.school.id
        assert result.operator == prepared.blueprint.school.operator
        assert result.asset_tag == by_serial[result.serial].asset_tag
        assert result.run_id == e.run_id


async def test_cart_name_falls_back_to_the_store_setting(
    store: Store, prepared: Prepared, ios: FakeIosDriver, android: FakeAndroidDriver
) -> None:
    store.set_setting("cart.name", "Wagen 7")
    android.plug(FakeTablet(serial="R52X0000009"), "1-1.2")
    async with engine(store, prepared, ios, android, cart="") as e:
        assert await e.wait(expect=1, within=20)
    (label,) = labels_for_run(store, e.run_id, cart="", template="plain")
    assert (label.slot, label.cart) == (1, "Wagen 7")


def recovery_ipad(port: str, cpid: int, ecid: int, serial: str) -> UsbPortDevice:
    """An iPad in recovery mode as a USB scan sees it (iBoot's serial string)."""
    return UsbPortDevice(
        port_path=port,
        bus=1,
        address=20 + int(port.rpartition(".")[2]),
        vendor_id=0x05AC,
        product_id=0x1281,
        serial=f"SDOM:01 CPID:{cpid:04X} CPRV:11 CPFM:03 SCEP:01 BDID:0C "
        f"ECID:{ecid:016X} IBFL:3C SRNM:[{serial}]",
        kind=UsbKind.IPAD_RECOVERY,
    )


async def test_recovery_ipad_is_a_slot_needing_a_person_then_its_job(
    store: Store, prepared: Prepared, ios: FakeIosDriver, android: FakeAndroidDriver
) -> None:
    usb = FakeUsbScanner()
    ecid = 0x1A2B3C4D5E6F
    usb.devices = [recovery_ipad("1-1.3", 0x8030, ecid, "DMPX0RECOV1")]
    async with engine(store, prepared, ios, android, usb=usb) as e:
        key = f"ios:00008030-{ecid:016X}"
        await until(lambda: key in e.jobs)
        job = e.jobs[key]
        assert job.state is JobState.NEEDS_PERSON
        assert job.slot == 2
        assert job.hint == Presence.RECOVERY.hint
        assert job.serial == "DMPX0RECOV1"
        assert not e.finished(expect=1)
        # Restarted by a person: off USB in recovery, then on usbmuxd with the same UDID.
        usb.devices = []
        await until(lambda: job.state is not JobState.NEEDS_PERSON)
        assert job.state is JobState.PAUSED
        ipad = FakeTablet(serial="DMPX0RECOV1", udid=f"00008030-{ecid:016X}")
        ios.plug(ipad, "1-1.3")
        assert await e.wait(expect=1, within=20)
    assert list(e.jobs) == [key]
    assert job.state is JobState.DONE, job.summary()
    assert job.slot == 2


async def test_old_recovery_ipad_gives_way_to_its_normal_job(
    store: Store, prepared: Prepared, ios: FakeIosDriver, android: FakeAndroidDriver
) -> None:
    """Before the A12 the UDID is a hash: the recovery entry is dropped when the iPad is up."""
    usb = FakeUsbScanner()
    usb.devices = [recovery_ipad("1-1.1", 0x8010, 0x77, "DMPX0OLD001")]
    async with engine(store, prepared, ios, android, usb=usb) as e:
        await until(lambda: bool(e.jobs))
        (placeholder,) = e.jobs.values()
        assert placeholder.state is JobState.NEEDS_PERSON
        assert placeholder.slot == 3
        usb.devices = []
        ipad = FakeTablet(serial="DMPX0OLD001", udid="a" * 40)
        ios.plug(ipad, "1-1.1")
        assert await e.wait(expect=1, within=20)
    assert list(e.jobs) == [f"ios:{'a' * 40}"]
    assert e.jobs[f"ios:{'a' * 40}"].state is JobState.DONE


async def test_hostile_device_text_still_gives_a_valid_hub_row(
    store: Store, prepared: Prepared, ios: FakeIosDriver, android: FakeAndroidDriver
) -> None:
    android.plug(FakeTablet(serial="R52X\x1b[31m0001", model="Tab\x00" * 100), "1-1.2")
    async with engine(store, prepared, ios, android) as e:
        assert await e.wait(expect=1, within=20)
    (row,) = store.outbox(state=OutboxState.PENDING)
    result = DeviceResult.model_validate(row.payload)
    assert result.serial == "R52X[31m0001"
    assert result.model == ("Tab" * 100)[:200]
    assert result.slot == 1
