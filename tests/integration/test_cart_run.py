"""The issue's done-when, end to end: a virtual cart with real faults, the real drivers.

Device state is read back through pymobiledevice3 and adbutils directly, not through the
station's records.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from adbutils import AdbClient
from pymobiledevice3.lockdown import create_using_usbmux
from pymobiledevice3.services.installation_proxy import InstallationProxyService
from pymobiledevice3.services.mobile_config import MobileConfigService

from station.drivers.base import Presence
from station.drivers.usb import PyusbScanner
from station.jobs.android_steps import ACCOUNTS_HINT
from station.jobs.engine import EngineSettings
from station.jobs.events import EventBus, EventType, JobState
from station.jobs.runner import Prepared, RunResult, prepare, provision
from station.jobs.steps import STORAGE_HINT
from station.secrets import SecretStore
from station.sim.cart import VirtualCart
from station.sim.scenario import Event, Scenario, SlotOverride, Trigger
from station.sim.usb.backend import get_backend
from station.store import DB_NAME, StepStatus, Store
from tests.integration.conftest import calibration_of, drivers_for

SETTINGS = EngineSettings(person_poll=0.1, backoff_scale=0.01, settle=0.2, usb_poll=0.2)
LERNAPP = "de.kreissegeberg.lernapp"
MDM = "de.kreissegeberg.schulit.mdm"
OWNER = "de.kreissegeberg.schulit.mdm/de.kreissegeberg.schulit.mdm.AdminReceiver"
WIFI = "de.kreissegeberg.schulit.wlan"
MDM_PROFILE = "de.kreissegeberg.schulit.mdm-enrollment"
TWIN_SERIAL = "0123456789ABCDEF"
UNAUTHORIZED = 22  # an Android tablet whose USB debugging prompt waits for a person
FULL = 4  # an iPad with full storage (Android: tests/integration/test_recovery_and_labels.py)


def faulty_cart(ipads: int, androids: int) -> Scenario:
    """Trust pending then accepted, a pulled cable, an account, a full disk, twin serials."""
    slots: dict[int, SlotOverride] = {n: SlotOverride(trust="accept") for n in range(2, ipads + 1)}
    slots[1] = SlotOverride(trust="prompt")
    slots[2] = SlotOverride(trust="accept", setup_done=True, device_name="Frau Meiers iPad")
    slots[FULL] = SlotOverride(trust="accept", free_bytes=0)
    first_android = ipads + 1
    account = first_android + 1
    slots[account] = SlotOverride(accounts=("com.google:lehrer@example.org",))
    slots[first_android + 3] = SlotOverride(serial=TWIN_SERIAL)
    slots[first_android + 4] = SlotOverride(serial=TWIN_SERIAL)
    slots[UNAUTHORIZED] = SlotOverride(adb_state="unauthorized")
    pulled_ipad, pulled_android = 3, first_android + 5
    events = (
        Event("accept_trust", 1, after=Trigger("trust_prompt", delay=2.0)),
        Event("unplug", pulled_ipad, after=Trigger("transfer", delay=0.0)),
        Event("plug", pulled_ipad, after=Trigger("unplug", delay=3.0)),
        Event("unplug", pulled_android, after=Trigger("transfer", delay=0.0)),
        Event("plug", pulled_android, after=Trigger("unplug", delay=3.0)),
        Event("allow_usb_debugging", UNAUTHORIZED, after=Trigger("accept_trust", 2.0, slot=1)),
    )
    return Scenario(slots=slots, events=events)


async def run_cart(
    cart: VirtualCart,
    station: Path,
    prepared: Prepared,
    expect: int,
    bus: EventBus | None = None,
) -> RunResult:
    async with drivers_for(cart, station) as (ios, android):
        with Store(station / DB_NAME) as store:
            return await provision(
                prepared,
                store=store,
                ios=ios,
                android=android,
                usb=PyusbScanner(get_backend(cart.usb_snapshot_path)),
                calibration=calibration_of(cart),
                expect=expect,
                within=120,
                settings=SETTINGS,
                bus=bus,
            )


async def read_ipad(cart: VirtualCart, station: Path, udid: str) -> dict[str, Any]:
    """What pymobiledevice3 itself finds on the iPad, with the station's pair record."""
    client = await create_using_usbmux(
        serial=udid,
        autopair=False,
        pairing_records_cache_folder=station / "pair_records",
        usbmux_address=cart.ready_info()["usbmux"],
    )
    try:
        assert client.paired
        async with InstallationProxyService(lockdown=client) as proxy:
            apps = await proxy.get_apps(application_type="User")
        async with MobileConfigService(lockdown=client) as mc:
            cloud = await mc.get_cloud_configuration()
            profiles = await mc.get_profile_list()
        return {
            "name": await client.get_value(key="DeviceName"),
            "activation": await client.get_value(key="ActivationState"),
            "apps": {k: v.get("CFBundleVersion") for k, v in apps.items()},
            "supervised": bool(cloud and cloud.get("IsSupervised")),
            "organization": (cloud or {}).get("OrganizationName"),
            "profiles": set((profiles.get("ProfileMetadata") or {}).keys()),
        }
    finally:
        await client.close()


def read_android(cart: VirtualCart, handle: str) -> dict[str, Any]:
    """What adbutils itself finds on the tablet."""
    host, _, port = cart.ready_info()["adb"].rpartition(":")
    device = AdbClient(host=host, port=int(port)).device(serial=handle)
    packages = {}
    for package in (MDM, LERNAPP):
        info = device.app_info(package)
        packages[package] = info.version_code if info else None
    owners = device.shell(["dumpsys", "device_policy"])
    return {
        "packages": packages,
        "owners": owners,
        "name": device.shell(["settings", "get", "global", "device_name"]).strip(),
        "auto_time": device.shell(["settings", "get", "global", "auto_time"]).strip(),
        "welcome": device.sync.stat("/sdcard/Documents/willkommen.txt").size,
    }


@pytest.mark.slow
@pytest.mark.timeout(300)
async def test_a_cart_of_15_and_15_with_real_faults(
    cart_factory: Callable[..., Any], station_dir: Path, prepared_keep_adb: Prepared
) -> None:
    ipads, androids = 15, 15
    scenario = faulty_cart(ipads, androids)
    cart: VirtualCart = await cart_factory(ipads=ipads, androids=androids, scenario=scenario)
    bus = EventBus()
    person_states = bus.subscribe(maxsize=1_000_000)
    started = time.monotonic()
    first = await run_cart(cart, station_dir, prepared_keep_adb, ipads + androids, bus)
    first_seconds = time.monotonic() - started
    assert first.complete
    by_slot = {j["slot"]: j for j in first.jobs}
    assert sorted(by_slot) == list(range(1, 31))
    account, full = ipads + 2, FULL
    failed = {s for s, j in by_slot.items() if j["state"] != "done"}
    assert failed == {account, full}, {
        s: (by_slot[s]["state"], by_slot[s]["step"], by_slot[s]["detail"]) for s in failed
    }
    # Each of the others is reported with its reason (the device's text) and the next action.
    assert "accounts" in by_slot[account]["detail"]
    assert by_slot[account]["hint"] == ACCOUNTS_HINT
    assert "NO_SPACE_LEFT" in by_slot[full]["detail"]  # the device's own words
    assert by_slot[full]["hint"] == STORAGE_HINT
    assert not first.ok
    # The people's moments were states with a hint, not failures.
    hints = {
        (e.slot, e.hint)
        for e in person_states.pending()
        if e.type is EventType.JOB and e.state == JobState.NEEDS_PERSON.value
    }
    assert (1, Presence.NEEDS_TRUST.hint) in hints
    assert (UNAUTHORIZED, Presence.UNAUTHORIZED.hint) in hints
    person_states.close()

    # Read back through the client libraries, not through our records.
    expected_profiles = {WIFI, MDM_PROFILE}
    for slot in range(1, ipads + 1):
        if slot in failed:
            continue
        udid = cart.slot(slot).device_id
        state = await read_ipad(cart, station_dir, udid)
        assert state["apps"] == {LERNAPP: "412"}, slot
        assert state["supervised"], slot
        assert state["organization"] == "Kreis Segeberg Schul-IT"
        assert state["profiles"] == expected_profiles
        assert state["activation"] == "Activated"
        assert state["name"] == f"Tablet {by_slot[slot]['asset_tag']}"
        # The Wi-Fi password was filled in from the secret store, silently (supervised).
        installed = cart.slot(slot).ipad.profiles[WIFI]  # type: ignore[union-attr]
        assert b"demo-wlan-passwort" in installed.payload
        assert installed.silent
    for slot in range(ipads + 1, ipads + androids + 1):
        if slot in failed:
            continue
        # adbutils blocks: run it in a thread so the cart (in this loop) can answer.
        state = await asyncio.to_thread(read_android, cart, f"usb:{cart.slot(slot).port.path}")
        assert state["packages"] == {MDM: 27, LERNAPP: 412}, slot
        assert OWNER.split("/")[0] in state["owners"]
        assert state["name"] == f"Tablet {by_slot[slot]['asset_tag']}"
        assert state["auto_time"] == "1"
        assert state["welcome"] > 0
    twins = [j for j in first.jobs if j["serial"] == TWIN_SERIAL]
    assert len(twins) == 2
    assert twins[0]["asset_tag"] != twins[1]["asset_tag"]
    # The erased iPad was erased exactly once; the pulled cables resumed, not restarted.
    erased = cart.slot(2).ipad
    assert erased is not None
    assert erased.boot_count == 2
    with Store(station_dir / DB_NAME) as store:
        rows = store.history(run_id=first.run_id, limit=100_000)
    interrupted = {r.step for r in rows if r.status is StepStatus.INTERRUPTED}
    assert any(step.startswith("app:") for step in interrupted)

    # The same blueprint again: nothing changes, every step is found done.
    before = {n: _device_state(cart, n) for n in cart.slots}
    started = time.monotonic()
    again = await run_cart(cart, station_dir, prepared_keep_adb, ipads + androids)
    # Informative only (no timed assertions): the re-run only checks.
    print(f"first run {first_seconds:.1f}s, re-run {time.monotonic() - started:.1f}s")
    assert {j["slot"] for j in again.jobs if j["state"] != "done"} == {account, full}
    for job in again.jobs:
        if job["state"] == "done":
            assert job["done_steps"] == 0, job
            assert (
                job["skipped_steps"]
                == by_slot[job["slot"]]["done_steps"] + by_slot[job["slot"]]["skipped_steps"]
            )
    after = {n: _device_state(cart, n) for n in cart.slots}
    assert after == before


def _device_state(cart: VirtualCart, slot: int) -> Any:
    """The emulated device's provisioned state (what a re-run must not change)."""
    s = cart.slot(slot)
    if s.ipad is not None:
        ipad = s.ipad
        return (
            ipad.device_name,
            ipad.activation_state,
            ipad.boot_count,
            sorted(ipad.apps),
            sorted(ipad.profiles),
            dict(ipad.wallpapers),
            (ipad.cloud_config or {}).get("OrganizationMagic"),
        )
    tablet = s.android
    assert tablet is not None
    return (
        tablet.device_owner,
        {k: p.version_code for k, p in tablet.packages.items()},
        dict(tablet.files),
        tablet.boot_count,
        {k: dict(v) for k, v in tablet.settings.items()},
    )


async def test_rerun_of_the_demo_blueprint_finds_tablets_with_usb_debugging_off(
    cart_factory: Callable[..., Any], station_dir: Path, demo_inputs: tuple[Path, Path]
) -> None:
    path, data_dir = demo_inputs
    prepared = prepare(path, SecretStore(data_dir=data_dir, force_file=True))
    assert prepared.blueprint.android is not None
    assert prepared.blueprint.android.finish.disable_usb_debugging
    scenario = Scenario(slots={1: SlotOverride(trust="accept")})
    cart: VirtualCart = await cart_factory(ipads=1, androids=2, scenario=scenario)
    first = await run_cart(cart, station_dir, prepared, 3)
    assert first.ok, first.jobs
    for slot in (2, 3):
        tablet = cart.slot(slot).android
        assert tablet is not None
        assert not tablet.usb_debugging  # switched off last: adb no longer sees it
    again = await run_cart(cart, station_dir, prepared, 3)
    assert again.ok, again.jobs
    by_slot = {j["slot"]: j for j in again.jobs}
    assert by_slot[1]["done_steps"] == 0
    for slot in (2, 3):
        assert "USB debugging is off" in by_slot[slot]["detail"]
        assert by_slot[slot]["asset_tag"] == {j["slot"]: j for j in first.jobs}[slot]["asset_tag"]
