"""The hub's line by expected unpack: learned per model in a run, seeded from earlier runs."""

from __future__ import annotations

import asyncio
import dataclasses
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from station.jobs.engine import WAITING_FOR_HUB, Engine, EngineSettings
from station.jobs.events import EventBus, JobState
from station.jobs.runner import Prepared
from station.store import Store, UnpackTime
from tests.fakes import FakeAndroidDriver, FakeIosDriver, FakeTablet, register_apps
from tests.jobs.conftest import FAST

pytestmark = pytest.mark.timeout(60)

HUB = "1-1"
ONE_PER_HUB = dataclasses.replace(FAST, transfers_per_hub=1)
QUICK, SLOW, NEW = "iPad14,1", "iPad12,1", "iPad13,16"
UNPACK = {QUICK: 10.0, SLOW: 100.0, NEW: 50.0}  # device seconds each model unpacks the app in


class TaskClock:
    """Fake monotonic seconds, one clock per asyncio task (per job).

    The engine reads its clock in the job's task when the upload is done and when the step
    ends; each tablet's unpack advances only its own job's clock, so the engine measures
    exactly the model's unpack however the jobs interleave.
    """

    def __init__(self) -> None:
        self._now: dict[asyncio.Task[object] | None, float] = {}

    def __call__(self) -> float:
        return self._now.get(asyncio.current_task(), 0.0)

    def advance(self, seconds: float) -> None:
        self._now[asyncio.current_task()] = self() + seconds


def ipad(n: int, model: str) -> FakeTablet:
    return FakeTablet(serial=f"DMPX{n:06d}", udid=f"00008030-{n:016X}", model=model)


@asynccontextmanager
async def started(
    store: Store,
    prepared: Prepared,
    ios: FakeIosDriver,
    bus: EventBus,
    settings: EngineSettings = ONE_PER_HUB,
) -> AsyncIterator[Engine]:
    """An engine on a new run whose unpack timings come from a :class:`TaskClock`."""
    clock = TaskClock()

    async def unpacking(handle: str) -> None:
        clock.advance(UNPACK[ios.present[handle][0].model])

    ios.hooks["install_on_device"] = unpacking
    register_apps(prepared.blueprint, ios, FakeAndroidDriver())
    run = store.start_run(prepared.blueprint.name, prepared.blueprint.content_hash)
    engine = Engine(
        store=store,
        blueprint=prepared.blueprint,
        run_id=run.id,
        secrets=prepared.secrets,
        identity=prepared.identity,
        ios=ios,
        settings=settings,
        bus=bus,
        rng=random.Random(1),
        clock=clock,
    )
    async with engine:
        yield engine


async def plug_in_line(
    ios: FakeIosDriver, sub: Any, pads: list[FakeTablet], first_port: int
) -> None:
    """Plug each iPad once the one before waits in the hub's line: arrivals in plug order."""
    for n, pad in enumerate(pads, start=first_port):
        ios.plug(pad, f"{HUB}.{n}")
        key = f"ios:{pad.udid}"
        async with asyncio.timeout(20):
            async for event in sub:
                if event.job == key and event.detail == WAITING_FOR_HUB:
                    break


def app_size(prepared: Prepared) -> int:
    assert prepared.blueprint.ios is not None
    return prepared.blueprint.ios.apps[0].path.stat().st_size


def seed(store: Store, prepared: Prepared, models: tuple[str, ...]) -> None:
    """Unpack times of last week's run: this app on each of ``models``."""
    earlier = store.start_run("last week", "x")
    for n, model in enumerate(models, start=90):
        device = store.upsert_device("ios", f"OLD{n}", f"00008030-{n:016X}", model=model)
        store.record_unpack(
            earlier.id,
            device.id,
            platform="ios",
            model=model,
            step="app:x",
            nbytes=app_size(prepared),
            seconds=UNPACK[model],
        )


class Uploads:
    """The iPads' uploads in the order they got the hub; the first holds it until ``hold``."""

    def __init__(self, ios: FakeIosDriver) -> None:
        self.ios = ios
        self.order: list[str] = []
        self.started = asyncio.Event()
        self.hold = asyncio.Event()
        self.learned: list[asyncio.Event] = [asyncio.Event() for _ in range(10)]
        self.serialized = False  # each upload waits until every earlier install was timed
        ios.hooks["install_app"] = self._uploading

    async def _uploading(self, handle: str) -> None:
        before = len(self.order)
        self.order.append(self.ios.present[handle][0].serial)
        self.started.set()
        if before == 0:
            await self.hold.wait()
        elif self.serialized:
            await self.learned[before - 1].wait()

    def watch_learning(self, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
        """Count the engine's timed installs as it records them."""
        record = store.record_unpack
        count = len(store.unpack_times())

        def recorded(*args: Any, **kwargs: Any) -> None:
            nonlocal count
            record(*args, **kwargs)
            self.learned[count].set()
            count += 1

        monkeypatch.setattr(store, "record_unpack", recorded)
        self.serialized = True

    async def line_up(self, sub: Any, pads: list[FakeTablet]) -> None:
        """Plug the first iPad (it takes the hub), then each next once the one before waits."""
        self.ios.plug(pads[0], f"{HUB}.1")
        async with asyncio.timeout(20):
            await self.started.wait()
        for n, pad in enumerate(pads[1:], start=2):
            self.ios.plug(pad, f"{HUB}.{n}")
            await job_event(sub, f"ios:{pad.udid}", WAITING_FOR_HUB)


async def job_event(sub: Any, key: str, detail: str = "", state: str = "") -> None:
    """Until ``key``'s job says ``detail`` (or reaches ``state``); the timeout is for hangs only."""
    async with asyncio.timeout(20):
        async for event in sub:
            if event.job == key and (event.detail == detail if detail else event.state == state):
                return


async def test_tablets_of_models_that_unpack_slowly_go_first_seeded_from_earlier_runs(
    store: Store, prepared: Prepared, ios: FakeIosDriver
) -> None:
    seed(store, prepared, (QUICK, QUICK, SLOW))
    pads = [
        ipad(1, QUICK),  # gets the hub first and holds it until all the others wait
        ipad(2, QUICK),
        ipad(3, SLOW),
        ipad(4, QUICK),
        ipad(5, NEW),  # never timed: as if slowest
        ipad(6, SLOW),
    ]
    uploads = Uploads(ios)
    bus = EventBus()
    sub = bus.subscribe()
    async with started(store, prepared, ios, bus) as engine:
        assert engine.unpack.models == sorted([f"ios:{QUICK}", f"ios:{SLOW}"])  # from the store
        await uploads.line_up(sub, pads)
        assert engine.limiter.waiting(HUB) == 5
        uploads.hold.set()
        assert await engine.wait(expect=6, within=30)
    sub.close()
    assert {j.state for j in engine.jobs.values()} == {JobState.DONE}
    # Unknown first, then the slow model, then the quick one; ties in arrival (plug) order.
    served = [pads[n - 1].serial for n in (1, 5, 3, 6, 2, 4)]
    assert uploads.order == served
    # Every install of this run was timed (its unpack, not its upload) and kept for the next.
    assert prepared.blueprint.ios is not None
    bundle = prepared.blueprint.ios.apps[0].info.bundle_id
    mine = store.unpack_times()[3:]
    assert sorted((t.model, t.seconds) for t in mine) == sorted(
        (p.model, UNPACK[p.model]) for p in pads
    )
    assert {(t.platform, t.bytes, t.step) for t in mine} == {
        ("ios", app_size(prepared), f"app:{bundle}")
    }


async def test_what_a_run_learns_reorders_the_tablets_still_waiting(
    store: Store, prepared: Prepared, ios: FakeIosDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No records: at first the line is in arrival order, then learned rates reorder it."""
    pads = [ipad(1, QUICK), ipad(2, QUICK), ipad(3, SLOW), ipad(4, QUICK), ipad(5, SLOW)]
    pads.append(ipad(6, SLOW))
    uploads = Uploads(ios)
    uploads.watch_learning(store, monkeypatch)
    bus = EventBus()
    sub = bus.subscribe()
    async with started(store, prepared, ios, bus) as engine:
        assert engine.unpack.models == []
        await uploads.line_up(sub, pads)
        uploads.hold.set()
        assert await engine.wait(expect=6, within=30)
    sub.close()
    assert {j.state for j in engine.jobs.values()} == {JobState.DONE}
    # 1 holds the hub; at its last byte nothing is known: 2 (first to arrive). At 2's last
    # byte the quick model is known (1 finished): the unknown 3 goes. At 3's, its model is
    # still unpacking, so unknown: 5 before the known-quick 4. At 5's, the slow model is known
    # (3 finished): 6 before 4. Arrival order would have been 1..6.
    assert uploads.order == [pads[n - 1].serial for n in (1, 2, 3, 5, 6, 4)]
    assert engine.unpack.expected(f"ios:{SLOW}", app_size(prepared)) == pytest.approx(UNPACK[SLOW])


async def test_a_tablet_cancelled_while_waiting_leaves_the_ordered_line(
    store: Store, prepared: Prepared, ios: FakeIosDriver
) -> None:
    seed(store, prepared, (QUICK, SLOW))
    pads = [ipad(1, QUICK), ipad(2, QUICK), ipad(3, SLOW), ipad(4, NEW)]
    uploads = Uploads(ios)
    bus = EventBus()
    sub = bus.subscribe()
    async with started(store, prepared, ios, bus) as engine:
        await uploads.line_up(sub, pads)
        assert engine.limiter.waiting(HUB) == 3
        cancelled = f"ios:{pads[3].udid}"
        engine.cancel(cancelled)  # the first in line (unknown model) is stopped
        await job_event(sub, cancelled, state=JobState.CANCELLED.value)
        assert engine.limiter.waiting(HUB) == 2
        uploads.hold.set()
        assert await engine.wait(expect=4, within=30)
        assert engine.limiter.active[HUB] == 0
        assert engine.limiter.waiting(HUB) == 0
    sub.close()
    states = [engine.jobs[f"ios:{p.udid}"].state for p in pads]
    assert states == [JobState.DONE] * 3 + [JobState.CANCELLED]
    assert uploads.order == [pads[0].serial, pads[2].serial, pads[1].serial]


def test_the_store_keeps_the_newest_unpack_times_per_model_across_migrations(
    tmp_path: Path,
) -> None:
    path = tmp_path / "station.db"
    with Store(path, migrate_to=2) as old:
        run = old.start_run("last year", "x")
        device = old.upsert_device("ios", "F9FX1", "00008101-AAA", model=SLOW)
    with Store(path) as store:
        assert store.unpack_times() == []
        for seconds in (1.0, 2.0, 3.0):
            store.record_unpack(
                run.id, device.id, platform="ios", model=SLOW, step="a", nbytes=5, seconds=seconds
            )
        store.record_unpack(
            run.id, device.id, platform="android", model=SLOW, step="a", nbytes=7, seconds=4.0
        )
        assert store.unpack_times(per_model=2) == [
            UnpackTime("ios", SLOW, "a", 5, 2.0),
            UnpackTime("ios", SLOW, "a", 5, 3.0),
            UnpackTime("android", SLOW, "a", 7, 4.0),
        ]
        assert store.integrity_check() == "ok"
