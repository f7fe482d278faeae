"""The engine against hand-written fake drivers: check-before-act, once-steps, pauses, people."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
from collections.abc import Callable
from typing import Any

import pytest
from adbutils import AdbClient

from station.blueprint import Timeouts
from station.drivers.base import Presence
from station.drivers.errors import map_adb_errors
from station.errors import DeviceProtocolError, ServiceUnavailable
from station.jobs.android_steps import ACCOUNTS_HINT
from station.jobs.engine import EngineSettings
from station.jobs.events import EventBus, EventType, JobEvent, JobState
from station.jobs.ios_steps import OTHER_SUPERVISOR_HINT
from station.jobs.runner import Prepared
from station.jobs.steps import STORAGE_HINT
from station.store import OutboxState, StepStatus, Store
from station.sync.targets import OP_DEVICE_RESULT, TARGET_HUB, DeviceResult
from tests.fakes import FakeAndroidDriver, FakeIosDriver, FakeTablet, FakeUsbScanner, no_adb
from tests.jobs.conftest import FAST

WIFI = "de.kreissegeberg.schulit.wlan"
MDM_PROFILE = "de.kreissegeberg.schulit.mdm-enrollment"
LERNAPP = "de.kreissegeberg.lernapp"
MDM_APK = "de.kreissegeberg.schulit.mdm"
OWNER = "de.kreissegeberg.schulit.mdm/.AdminReceiver"


def ipad(n: int = 1, **kw: Any) -> FakeTablet:
    return FakeTablet(serial=f"DMPX{n:06d}", udid=f"00008030-{n:016X}", **kw)


def tablet(n: int = 1, **kw: Any) -> FakeTablet:
    return FakeTablet(serial=kw.pop("serial", f"R52X{n:07d}"), **kw)


async def wait_for_state(sub: Any, job: str, state: JobState) -> JobEvent:
    async with asyncio.timeout(10):
        async for event in sub:
            if event.type is EventType.JOB and event.job == job and event.state == state.value:
                return event  # type: ignore[no-any-return]
    raise AssertionError("stream ended")


async def test_provisions_both_platforms_and_a_rerun_changes_nothing(
    engine_for: Callable[..., Any],
    prepared: Prepared,
    ios: FakeIosDriver,
    android: FakeAndroidDriver,
    store: Store,
) -> None:
    pad, tab = ipad(), tablet()
    ios.plug(pad, "1-1.1")
    android.plug(tab, "1-2.1")
    async with engine_for(prepared) as engine:
        assert await engine.wait(expect=2, within=20)
    assert {j.state for j in engine.jobs.values()} == {JobState.DONE}
    assert prepared.identity is not None
    assert pad.supervisor_sha == prepared.identity.sha256
    assert pad.activation == "Activated"
    assert pad.apps == {LERNAPP: "412"}
    assert set(pad.profiles) == {WIFI, MDM_PROFILE}
    # The Wi-Fi password was filled in from the secret store at install time.
    assert "demo-wlan-passwort" in pad.settings[f"profile:{WIFI}"]
    assert pad.name.startswith("Tablet SEG042-")
    assert pad.wallpaper
    assert pad.ops["erase"] == 0  # a fresh iPad is not erased
    assert tab.apps == {MDM_APK: "27", LERNAPP: "412"}
    assert tab.owner == OWNER
    assert tab.settings["global.auto_time"] == "1"
    assert tab.settings["system.screen_off_timeout"] == "300000"
    (welcome,) = prepared.blueprint.android.files if prepared.blueprint.android else ()
    assert tab.files == {"/sdcard/Documents/willkommen.txt": welcome.size}
    assert tab.name.startswith("Tablet SEG042-")
    assert pad.name != tab.name
    assert all(j.done_steps > 0 for j in engine.jobs.values())
    first = {j.key: j.done_steps + j.skipped_steps for j in engine.jobs.values()}

    pad_ops, tab_ops = dict(pad.ops), dict(tab.ops)
    async with engine_for(prepared) as again:
        assert await again.wait(expect=2, within=20)
    assert {j.state for j in again.jobs.values()} == {JobState.DONE}
    assert dict(pad.ops) == pad_ops
    assert dict(tab.ops) == tab_ops
    for job in again.jobs.values():
        assert job.done_steps == 0
        assert job.skipped_steps == first[job.key]
    skipped = [r for r in store.history(run_id=again.run_id) if r.status is StepStatus.SKIPPED]
    assert len(skipped) == sum(first.values())


async def test_erase_happens_once_and_never_again_in_the_same_run(
    engine_for: Callable[..., Any], prepared: Prepared, ios: FakeIosDriver, store: Store
) -> None:
    used = ipad(activation="Activated", name="Frau Meiers iPad")
    ios.plug(used, "1-1.1")
    stuck = asyncio.Event()

    async def hang(handle: str) -> None:
        stuck.set()
        await asyncio.Event().wait()

    ios.hooks["supervise"] = hang
    async with engine_for(prepared) as engine:
        async with asyncio.timeout(10):
            await stuck.wait()
    # The station stopped mid-run (as if killed) after the erase, before supervising.
    assert used.ops["erase"] == 1
    del ios.hooks["supervise"]
    # The same run resumed, on an iPad that looks used again: the records say this run's
    # erase happened, so it is not repeated.
    used.activation = "Activated"
    async with engine_for(prepared, run_id=engine.run_id) as resumed:
        assert await resumed.wait(expect=1, within=20)
    job = next(iter(resumed.jobs.values()))
    assert job.state is JobState.DONE, job.detail
    assert used.ops["erase"] == 1
    assert used.ops["supervise"] == 1
    erase = [r for r in store.history(run_id=engine.run_id) if r.step == "erase"]
    assert [r.status for r in erase] == [StepStatus.SKIPPED, StepStatus.DONE]
    assert erase[0].detail == "done in an earlier attempt"


async def test_a_once_step_done_but_not_recorded_is_found_on_the_device(
    engine_for: Callable[..., Any], prepared: Prepared, ios: FakeIosDriver, store: Store
) -> None:
    # As after a SIGKILL between "supervise" and its record: the row is left running.
    assert prepared.identity is not None
    pad = ipad(activation="Activated", trusted=True)
    pad.supervisor_sha = prepared.identity.sha256
    device = store.upsert_device("ios", pad.serial, pad.udid)
    run = store.start_run(prepared.blueprint.name, prepared.blueprint.content_hash)
    store.start_step(run.id, device.id, "supervise", "x")
    ios.plug(pad, "1-1.1")
    async with engine_for(prepared, run_id=run.id) as engine:
        assert await engine.wait(expect=1, within=20)
    assert pad.ops["supervise"] == 0
    assert pad.ops["erase"] == 0
    rows = [r for r in store.history(device_id=device.id) if r.step == "supervise"]
    assert rows[0].status is StepStatus.SKIPPED
    assert rows[0].detail == "already done on the device"


async def test_unplugged_mid_install_pauses_and_resumes_in_another_slot(
    engine_for: Callable[..., Any],
    prepared: Prepared,
    android: FakeAndroidDriver,
    store: Store,
) -> None:
    tab = tablet()
    handle = android.plug(tab, "1-2.1")
    pulled = asyncio.Event()

    async def pull_cable(h: str) -> None:
        if not pulled.is_set():
            pulled.set()
            android.unplug(h)

    android.hooks["install_app"] = pull_cable
    bus = EventBus()
    sub = bus.subscribe()
    async with engine_for(prepared, bus=bus) as engine:
        key = f"android:{tab.serial}"
        paused = await wait_for_state(sub, key, JobState.PAUSED)
        assert "Plug the tablet back" in paused.hint
        assert handle not in android.present
        android.plug(tab, "1-3.7")  # another hub, another slot
        assert await engine.wait(expect=1, within=20)
    job = engine.jobs[key]
    assert job.state is JobState.DONE
    assert job.port == "1-3.7"
    assert tab.ops["install_app"] == 2  # two apps, each installed once
    assert tab.ops["set_device_owner"] == 1
    statuses = [(r.step, r.status) for r in reversed(store.history(run_id=engine.run_id))]
    assert (f"app:{MDM_APK}", StepStatus.INTERRUPTED) in statuses
    assert statuses.index((f"app:{MDM_APK}", StepStatus.INTERRUPTED)) < statuses.index(
        (f"app:{MDM_APK}", StepStatus.DONE)
    )
    sub.close()


async def test_states_that_need_a_person_are_not_failures(
    engine_for: Callable[..., Any],
    prepared: Prepared,
    ios: FakeIosDriver,
    android: FakeAndroidDriver,
) -> None:
    pad = ipad(trust="prompt")
    tab = tablet(authorized=False)
    ios.plug(pad, "1-1.1")
    handle = android.plug(tab, "1-2.1")
    bus = EventBus()
    sub = bus.subscribe()
    async with engine_for(prepared, bus=bus) as engine:
        trust = await wait_for_state(sub, f"ios:{pad.udid}", JobState.NEEDS_PERSON)
        assert trust.hint == "Unlock the iPad and tap Trust"
        allow = await wait_for_state(sub, f"android:{tab.serial}", JobState.NEEDS_PERSON)
        assert "USB debugging" in allow.hint
        assert not await engine.wait(expect=2, within=0.2)
        pad.trusted = True
        tab.authorized = True
        android.changed(handle, Presence.READY)
        assert await engine.wait(expect=2, within=20)
    assert {j.state for j in engine.jobs.values()} == {JobState.DONE}
    sub.close()


async def test_transient_errors_retry_with_backoff_then_fail_with_a_hint(
    engine_for: Callable[..., Any],
    variant: Callable[..., Prepared],
    android: FakeAndroidDriver,
) -> None:
    prepared = variant(("finish = { disable_usb_debugging = true }", ""), name="retry")
    assert prepared.blueprint.retries.attempts == 2
    ok, broken = tablet(1), tablet(2)
    android.plug(ok, "1-2.1")
    android.fail("device_owner", DeviceProtocolError("garbage"), DeviceProtocolError("garbage"))
    async with engine_for(prepared) as engine:
        assert await engine.wait(expect=1, within=20)
    assert engine.jobs[f"android:{ok.serial}"].state is JobState.DONE

    android.plug(broken, "1-2.2")
    android.fail("device_owner", *(DeviceProtocolError("garbage") for _ in range(3)))
    async with engine_for(prepared) as engine:
        assert await engine.wait(expect=2, within=20)
    job = engine.jobs[f"android:{broken.serial}"]
    assert job.state is JobState.FAILED
    assert "garbage" in job.detail
    assert job.hint
    assert broken.owner is None


async def test_refusals_fail_with_the_devices_text_and_the_next_action(
    engine_for: Callable[..., Any],
    prepared: Prepared,
    android: FakeAndroidDriver,
    store: Store,
) -> None:
    good = tablet(1)
    account = tablet(2, accounts=("com.google:lehrer@example.org",))
    full = tablet(3, free_bytes=0)
    for n, t in enumerate((good, account, full), start=1):
        android.plug(t, f"1-2.{n}")
    async with engine_for(prepared) as engine:
        assert await engine.wait(expect=3, within=20)
    jobs = {j.serial: j for j in engine.jobs.values()}
    assert jobs[good.serial].state is JobState.DONE
    assert jobs[account.serial].state is JobState.FAILED
    assert "already some accounts" in jobs[account.serial].detail
    assert jobs[account.serial].hint == ACCOUNTS_HINT
    assert jobs[full.serial].state is JobState.FAILED
    assert "INSUFFICIENT_STORAGE" in jobs[full.serial].detail
    assert jobs[full.serial].hint == STORAGE_HINT
    # Each device's result went into the outbox with it, as the hub's DeviceResult.
    outbox = store.outbox(state=OutboxState.PENDING)
    assert {(o.target, o.op) for o in outbox} == {(TARGET_HUB, OP_DEVICE_RESULT)}
    results = {r.serial: r for r in (DeviceResult.model_validate(o.payload) for o in outbox)}
    assert set(results) == {good.serial, account.serial, full.serial}
    assert results[good.serial].status == "done"
    assert results[good.serial].milestone == "provisioned"
    assert results[good.serial].asset_tag == jobs[good.serial].asset_tag
    assert results[full.serial].status == "failed"
    assert "INSUFFICIENT_STORAGE" in results[full.serial].error
    assert results[full.serial].milestone is None
    assert {r.school for r in results.values()} == {prepared.blueprint.school.id}
    assert {r.operator for r in results.values()} == {prepared.blueprint.school.operator}


async def test_large_transfers_are_limited_per_hub(
    engine_for: Callable[..., Any], prepared: Prepared, android: FakeAndroidDriver
) -> None:
    android.delays["install_app"] = 0.03
    for n in range(1, 6):
        android.plug(tablet(n), f"1-2.{n}")
    for n in range(6, 9):
        android.plug(tablet(n), f"1-3.{n}")
    async with engine_for(prepared, settings=EngineSettings(**{**FAST.__dict__})) as engine:
        assert await engine.wait(expect=8, within=30)
    assert {j.state for j in engine.jobs.values()} == {JobState.DONE}
    assert android.peak == {"1-2": 2, "1-3": 2}
    assert engine.limiter.peak == {"1-2": 2, "1-3": 2}


async def test_cancel_and_retry_one_device(
    engine_for: Callable[..., Any], prepared: Prepared, android: FakeAndroidDriver
) -> None:
    slow, other = tablet(1), tablet(2)
    android.delays["install_app"] = 0.2
    android.plug(slow, "1-2.1")
    android.plug(other, "1-2.2")
    bus = EventBus()
    sub = bus.subscribe()
    async with engine_for(prepared, bus=bus) as engine:
        key = f"android:{slow.serial}"
        async with asyncio.timeout(10):
            async for event in sub:
                if event.type is EventType.STEP and event.job == key and event.state == "running":
                    break
        engine.cancel(key)
        await wait_for_state(sub, key, JobState.CANCELLED)
        assert not engine.finished(2) or engine.jobs[key].state is JobState.CANCELLED
        engine.retry(key)
        assert await engine.wait(expect=2, within=30)
    assert engine.jobs[key].state is JobState.DONE
    assert slow.owner == OWNER
    sub.close()


async def test_two_tablets_with_one_serial_are_told_apart_by_port(
    engine_for: Callable[..., Any], prepared: Prepared, android: FakeAndroidDriver, store: Store
) -> None:
    a = tablet(serial="0123456789ABCDEF")
    b = tablet(serial="0123456789ABCDEF")
    android.plug(a, "1-2.1")
    android.plug(b, "1-2.2")
    async with engine_for(prepared) as engine:
        assert await engine.wait(expect=2, within=20)
    jobs = list(engine.jobs.values())
    assert len(jobs) == 2
    assert {j.state for j in jobs} == {JobState.DONE}
    assert len({j.asset_tag for j in jobs}) == 2
    assert a.name != b.name
    assert len(store.devices_by_serial("0123456789ABCDEF")) == 2


async def test_a_restarted_engine_counts_finished_devices_of_its_run(
    engine_for: Callable[..., Any], prepared: Prepared, android: FakeAndroidDriver
) -> None:
    tab = tablet()
    handle = android.plug(tab, "1-2.1")
    async with engine_for(prepared) as engine:
        assert await engine.wait(expect=1, within=20)
    first = engine.jobs[f"android:{tab.serial}"]
    assert first.port
    android.unplug(handle)  # gone for good (e.g. USB debugging switched off)
    bus = EventBus()
    sub = bus.subscribe()
    async with engine_for(prepared, run_id=engine.run_id, bus=bus) as restarted:
        assert restarted.finished(expect=1)
        assert restarted.jobs[f"android:{tab.serial}"].state is JobState.DONE
    # Front ends hear of it too, in its slot (they would otherwise show an empty slot).
    restored = await wait_for_state(sub, f"android:{tab.serial}", JobState.DONE)
    assert (restored.slot, restored.port) == (first.slot, first.port)
    assert restored.detail == "finished before the restart"
    sub.close()


async def test_tablets_with_usb_debugging_off_need_a_person_or_are_done_already(
    engine_for: Callable[..., Any],
    variant: Callable[..., Prepared],
    android: FakeAndroidDriver,
    store: Store,
) -> None:
    prepared = variant(name="demo-as-is")  # switches USB debugging off last
    usb = FakeUsbScanner()
    finished, stranger = tablet(1), tablet(2, usb_debugging=False)
    android.plug(finished, "1-2.1")
    settings = EngineSettings(**{**FAST.__dict__, "usb_poll": 0.02})
    async with engine_for(prepared, settings=settings, usb=usb) as engine:
        assert await engine.wait(expect=1, within=20)
    assert finished.usb_debugging is False
    assert not android.present

    # Next run: adb sees neither tablet; the USB scan sees both.
    usb.devices = [no_adb(finished.serial, "1-2.1"), no_adb(stranger.serial, "1-2.2")]
    bus = EventBus()
    sub = bus.subscribe()
    async with engine_for(prepared, settings=settings, usb=usb, bus=bus) as again:
        event = await wait_for_state(sub, f"android:{stranger.serial}", JobState.NEEDS_PERSON)
        assert event.hint == Presence.USB_DEBUGGING_OFF.hint
        assert again.jobs[f"android:{finished.serial}"].state is JobState.DONE
        assert not again.finished(expect=2)
        # The person turns USB debugging on: adb sees it and the job runs.
        stranger.usb_debugging = True
        usb.devices = usb.devices[:1]
        android.plug(stranger, "1-2.2")
        assert await again.wait(expect=2, within=20)
    assert stranger.owner == OWNER
    assert finished.ops["set_device_owner"] == 1
    sub.close()


async def test_a_step_that_hangs_times_out_and_is_tried_again(
    engine_for: Callable[..., Any], prepared: Prepared, android: FakeAndroidDriver, store: Store
) -> None:
    quick = dataclasses.replace(
        prepared, blueprint=dataclasses.replace(prepared.blueprint, timeouts=Timeouts(step=0.1))
    )
    tab = tablet()
    android.plug(tab, "1-2.1")
    hung: list[str] = []

    async def hang_once(handle: str) -> None:
        if not hung:
            hung.append(handle)
            await asyncio.Event().wait()

    android.hooks["device_owner"] = hang_once
    async with engine_for(quick) as engine:
        assert await engine.wait(expect=1, within=20)
    assert engine.jobs[f"android:{tab.serial}"].state is JobState.DONE
    assert tab.owner == OWNER
    assert hung


async def test_an_ipad_supervised_by_someone_else_is_refused_untouched(
    engine_for: Callable[..., Any], variant: Callable[..., Prepared], ios: FakeIosDriver
) -> None:
    prepared = variant(('erase = "when-not-fresh"', 'erase = "never"'), name="never-erase")
    foreign = ipad(activation="Activated", trusted=True)
    foreign.supervisor_sha = "ab" * 32
    foreign.organization = "Other School"
    ios.plug(foreign, "1-1.1")
    async with engine_for(prepared) as engine:
        assert await engine.wait(expect=1, within=20)
    job = engine.jobs[f"ios:{foreign.udid}"]
    assert job.state is JobState.FAILED
    assert job.step == "supervise"
    assert job.hint == OTHER_SUPERVISOR_HINT
    assert foreign.ops["supervise"] == 0
    assert foreign.ops["erase"] == 0


async def test_a_job_waiting_for_a_person_says_so_once_not_at_every_look(
    engine_for: Callable[..., Any],
    prepared: Prepared,
    ios: FakeIosDriver,
    store: Store,
) -> None:
    # Found by the soak: a trust prompt nobody answers flipped the job to "working" and back
    # at every poll, an event and a record each time, for as long as it waited.
    pad = ipad(trust="prompt")
    ios.plug(pad, "1-1.1")
    bus = EventBus()
    sub = bus.subscribe()
    job = f"ios:{pad.udid}"
    seen: list[JobEvent] = []
    asking = asyncio.Event()

    async def collect() -> None:
        async for event in sub:
            if event.type is EventType.JOB and event.job == job:
                seen.append(event)
                if event.state == JobState.NEEDS_PERSON.value:
                    asking.set()

    collector = asyncio.ensure_future(collect())
    async with engine_for(prepared, bus=bus) as engine:
        async with asyncio.timeout(10):
            await asking.wait()
        before = len(seen)
        assert not await engine.wait(expect=1, within=30 * FAST.person_poll)  # ~30 looks
        waiting = seen[before:]
        pad.trusted = True
        assert await engine.wait(expect=1, within=20)
    sub.close()
    await collector
    assert waiting == []  # nothing new to say while still waiting
    asked = [e for e in store.events() if e.kind == "job.needs_person"]
    assert len(asked) == 1
    assert seen[-1].state == JobState.DONE.value


async def test_a_device_service_that_is_down_is_waited_for_without_using_up_attempts(
    engine_for: Callable[..., Any],
    variant: Callable[..., Prepared],
    android: FakeAndroidDriver,
) -> None:
    # Found by the soak: the adb server restarting made a job spend its 3 attempts in 0.14 s
    # and fail, though the tablet was fine.
    prepared = variant(("finish = { disable_usb_debugging = true }", ""), name="service")
    assert prepared.blueprint.retries.attempts == 2
    tab = tablet(1)
    android.plug(tab, "1-2.1")
    down = ServiceUnavailable("device owner: the adb server is not reachable", hint="start it")
    android.fail("device_owner", *(down for _ in range(8)))
    async with engine_for(prepared) as engine:
        assert await engine.wait(expect=1, within=20)
    job = engine.jobs[f"android:{tab.serial}"]
    assert job.state is JobState.DONE
    assert tab.owner == OWNER
    assert not android.faults["device_owner"]  # every outage was waited through


async def test_the_adb_server_being_down_maps_to_service_unavailable() -> None:
    """Through the real adbutils: nothing listens on the address -> ServiceUnavailable."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = AdbClient(host="127.0.0.1", port=port, socket_timeout=2)
    with pytest.raises(ServiceUnavailable) as caught, map_adb_errors("R52X1", "list devices"):
        await asyncio.to_thread(client.device_list)
    assert caught.value.hint
