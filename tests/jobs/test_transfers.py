"""Turns on shared things: hub slots (freed early by uploads, slowest unpack first), CPU seats."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from station.blueprint import Timeouts
from station.errors import DeviceRefused
from station.jobs.engine import WAITING_FOR_HUB, EngineSettings
from station.jobs.events import EventBus, EventType, JobState
from station.jobs.runner import Prepared
from station.jobs.transfers import Seats, TransferLease, TransferLimiter, UnpackRates
from tests.fakes import FakeAndroidDriver, FakeIosDriver, FakeTablet
from tests.jobs.conftest import FAST

pytestmark = pytest.mark.timeout(60)

ONE_PER_HUB = dataclasses.replace(FAST, transfers_per_hub=1)


def tablet(n: int) -> FakeTablet:
    return FakeTablet(serial=f"R52X{n:07d}")


async def job_reaches(sub: Any, state: JobState, keys: Callable[[str], bool]) -> str:
    """The key of the first job (among ``keys``) to reach ``state`` (timeout: only for hangs)."""
    async with asyncio.timeout(20):
        async for event in sub:
            if event.type is EventType.JOB and keys(event.job) and event.state == state.value:
                return str(event.job)
    raise AssertionError("stream ended")


# --- the limiter on its own -------------------------------------------------------------------


async def test_waiters_get_slots_in_the_order_they_asked() -> None:
    limiter = TransferLimiter(1)
    first = await limiter.acquire("1-2")
    order: list[int] = []

    async def ask(n: int) -> None:
        lease = await limiter.acquire("1-2")
        order.append(n)
        await asyncio.sleep(0)
        lease.release()

    tasks = []
    for n in range(6):
        tasks.append(asyncio.ensure_future(ask(n)))
        await asyncio.sleep(0)  # queued in this order
    first.release()
    await asyncio.gather(*tasks)
    assert order == list(range(6))
    assert limiter.active["1-2"] == 0
    assert limiter.peak["1-2"] == 1
    assert limiter.granted["1-2"] == 7


async def test_release_twice_frees_one_slot_only() -> None:
    limiter = TransferLimiter(1)
    lease = await limiter.acquire("h")
    waiting = [asyncio.ensure_future(limiter.acquire("h")) for _ in range(2)]
    await asyncio.sleep(0)
    lease.release()
    lease.release()
    assert limiter.active["h"] == 1
    assert limiter.waiting("h") == 1  # the second waiter still waits
    (await waiting[0]).release()
    second: TransferLease = await waiting[1]
    second.release()
    second.release()
    assert limiter.active["h"] == 0


async def test_a_waiter_cancelled_in_the_queue_takes_no_slot() -> None:
    limiter = TransferLimiter(1)
    holder = await limiter.acquire("h")
    gone = asyncio.ensure_future(limiter.acquire("h"))
    after = asyncio.ensure_future(limiter.acquire("h"))
    await asyncio.sleep(0)
    gone.cancel()
    with pytest.raises(asyncio.CancelledError):
        await gone
    holder.release()
    lease = await after
    assert limiter.active["h"] == 1
    lease.release()
    assert limiter.active["h"] == 0


async def test_a_waiter_cancelled_just_as_it_got_the_slot_passes_it_on() -> None:
    limiter = TransferLimiter(1)
    holder = await limiter.acquire("h")
    unlucky = asyncio.ensure_future(limiter.acquire("h"))
    after = asyncio.ensure_future(limiter.acquire("h"))
    await asyncio.sleep(0)
    holder.release()  # grants ``unlucky``'s future ...
    unlucky.cancel()  # ... which is cancelled before it ever runs again
    with pytest.raises(asyncio.CancelledError):
        await unlucky
    lease = await after
    assert limiter.active["h"] == 1
    lease.release()
    assert limiter.active["h"] == 0


async def test_the_slot_block_frees_its_slot_on_an_error() -> None:
    limiter = TransferLimiter(1)
    with pytest.raises(RuntimeError):
        async with limiter.slot("h"):
            raise RuntimeError("boom")
    assert limiter.active["h"] == 0
    async with limiter.slot("h") as lease:
        lease.release()  # early, as an upload does; the block's end is then a no-op
        assert limiter.active["h"] == 0
    assert limiter.active["h"] == 0


def test_a_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        TransferLimiter(0)


# --- the engine -------------------------------------------------------------------------------


async def test_the_hub_is_freed_when_the_upload_is_done_not_the_install(
    engine_for: Callable[..., Any], prepared: Prepared, android: FakeAndroidDriver
) -> None:
    """One slot per hub, installs that never finish: all three tablets still upload."""
    gate, all_installing = asyncio.Event(), asyncio.Event()

    async def installing(handle: str) -> None:
        if android.installing["1-2"] == 3:
            all_installing.set()
        await gate.wait()

    android.delays["install_app"] = 0.001
    android.hooks["install_on_device"] = installing
    tablets = [tablet(n) for n in range(1, 4)]
    for n, tab in enumerate(tablets, start=1):
        android.plug(tab, f"1-2.{n}")
    async with engine_for(prepared, settings=ONE_PER_HUB) as engine:
        # With the slot held through the install this would never happen.
        async with asyncio.timeout(20):
            await all_installing.wait()
        assert engine.limiter.active["1-2"] == 0  # every slot back while they install
        gate.set()
        assert await engine.wait(expect=3, within=30)
    assert {j.state for j in engine.jobs.values()} == {JobState.DONE}
    assert android.peak["1-2"] == 1  # never two uploads at once
    assert engine.limiter.peak["1-2"] == 1
    assert engine.limiter.active["1-2"] == 0
    assert all(len(t.apps) == 2 for t in tablets)


async def test_a_failed_install_frees_its_slot(
    engine_for: Callable[..., Any], prepared: Prepared, android: FakeAndroidDriver
) -> None:
    android.fail("install_app", DeviceRefused("install: INSTALL_FAILED_INVALID_APK", device="x"))
    tablets = [tablet(n) for n in range(1, 4)]
    for n, tab in enumerate(tablets, start=1):
        android.plug(tab, f"1-2.{n}")
    async with engine_for(prepared, settings=ONE_PER_HUB) as engine:
        assert await engine.wait(expect=3, within=30)
    states = sorted(j.state.value for j in engine.jobs.values())
    assert states == ["done", "done", "failed"]
    assert engine.limiter.active["1-2"] == 0


async def test_a_cancelled_upload_frees_its_slot(
    engine_for: Callable[..., Any], prepared: Prepared, android: FakeAndroidDriver
) -> None:
    stuck: list[str] = []
    stalled = asyncio.Event()

    async def stall_first(handle: str) -> None:
        if not stuck or stuck[0] == handle:
            stuck.append(handle)
            stalled.set()
            await asyncio.Event().wait()

    android.hooks["install_app"] = stall_first
    tablets = [tablet(n) for n in range(1, 3)]
    for n, tab in enumerate(tablets, start=1):
        android.plug(tab, f"1-2.{n}")
    bus = EventBus()
    sub = bus.subscribe()
    async with engine_for(prepared, settings=ONE_PER_HUB, bus=bus) as engine:
        async with asyncio.timeout(20):
            await stalled.wait()
        key = next(j.key for j in engine.jobs.values() if j.handle == stuck[0])
        engine.cancel(key)
        await job_reaches(sub, JobState.DONE, lambda job: job != key)
    sub.close()
    assert engine.jobs[key].state is JobState.CANCELLED
    assert engine.limiter.active["1-2"] == 0


async def test_an_install_timing_out_after_its_upload_frees_the_slot_once(
    engine_for: Callable[..., Any], prepared: Prepared, android: FakeAndroidDriver
) -> None:
    """The lease is released by the upload and again when the attempt ends: no double count."""
    quick = dataclasses.replace(
        prepared,
        blueprint=dataclasses.replace(prepared.blueprint, timeouts=Timeouts(install=0.2)),
    )
    hung: list[str] = []

    async def hang_twice(handle: str) -> None:
        if len(hung) < 2:
            hung.append(handle)
            await asyncio.Event().wait()

    android.hooks["install_on_device"] = hang_twice
    tablets = [tablet(n) for n in range(1, 3)]
    for n, tab in enumerate(tablets, start=1):
        android.plug(tab, f"1-2.{n}")
    async with engine_for(quick, settings=ONE_PER_HUB) as engine:
        assert await engine.wait(expect=2, within=30)
    assert {j.state for j in engine.jobs.values()} == {JobState.DONE}
    assert len(hung) == 2
    assert engine.limiter.active["1-2"] == 0
    assert engine.limiter.peak["1-2"] == 1


async def test_an_unplug_mid_upload_frees_the_slot_for_the_next_tablet(
    engine_for: Callable[..., Any], prepared: Prepared, android: FakeAndroidDriver
) -> None:
    pulled: list[str] = []

    async def pull_cable(handle: str) -> None:
        if not pulled:
            pulled.append(handle)
            android.unplug(handle)

    android.hooks["install_app"] = pull_cable
    first, second = tablet(1), tablet(2)
    android.plug(first, "1-2.1")
    android.plug(second, "1-2.2")
    bus = EventBus()
    sub = bus.subscribe()
    async with engine_for(prepared, settings=ONE_PER_HUB, bus=bus) as engine:
        paused = await job_reaches(sub, JobState.PAUSED, lambda job: True)
        await job_reaches(sub, JobState.DONE, lambda job: job != paused)
        assert engine.limiter.active["1-2"] == 0
        assert engine.jobs[paused].state is JobState.PAUSED
        assert engine.jobs[paused].handle is None
    sub.close()


def test_the_default_is_two_uploads_per_hub() -> None:
    assert EngineSettings().transfers_per_hub == TransferLimiter().per_hub == 2


# --- seats for the station's CPU-heavy steps ---------------------------------------------------


async def test_seats_go_to_the_lowest_rank_first() -> None:
    seats = Seats(1)
    served: list[float] = []
    holder = seats.seat(0)
    await holder.__aenter__()

    async def sit(rank: float) -> None:
        async with seats.seat(rank):
            served.append(rank)
            await asyncio.sleep(0)

    tasks = []
    for rank in (5.0, 1.0, 3.0):
        tasks.append(asyncio.ensure_future(sit(rank)))
        await asyncio.sleep(0)
    await holder.__aexit__(None, None, None)
    await asyncio.gather(*tasks)
    assert served == [1.0, 3.0, 5.0]
    assert seats.taken == 0


async def test_a_seat_cancelled_while_waiting_or_as_it_is_given_passes_on() -> None:
    seats = Seats(1)
    holder = seats.seat(0)
    await holder.__aenter__()

    async def sit(rank: float) -> float:
        async with seats.seat(rank):
            return rank

    waiting = asyncio.ensure_future(sit(1))
    unlucky = asyncio.ensure_future(sit(2))
    last = asyncio.ensure_future(sit(3))
    await asyncio.sleep(0)
    waiting.cancel()  # cancelled in the line
    with pytest.raises(asyncio.CancelledError):
        await waiting
    await holder.__aexit__(None, None, None)  # the seat goes to rank 2 ...
    unlucky.cancel()  # ... which is cancelled before it sits down
    with pytest.raises(asyncio.CancelledError):
        await unlucky
    assert await last == 3
    assert seats.taken == 0


async def test_busy_steps_run_a_few_tablets_at_a_time_in_plug_order(
    engine_for: Callable[..., Any], prepared: Prepared, ios: FakeIosDriver
) -> None:
    pads = [FakeTablet(serial=f"DMPX{n:06d}", udid=f"00008030-{n:016X}") for n in range(1, 6)]
    handles = [ios.plug(pad, f"1-1.{n}") for n, pad in enumerate(pads, start=1)]
    pairing: list[str] = []
    order: list[str] = []
    peak = [0]

    async def pair(handle: str) -> None:
        pairing.append(handle)
        order.append(handle)
        peak[0] = max(peak[0], len(pairing))
        await asyncio.sleep(0.01)
        pairing.remove(handle)

    ios.hooks["pair"] = pair
    settings = dataclasses.replace(FAST, busy_at_once=2)
    async with engine_for(prepared, settings=settings) as engine:
        assert await engine.wait(expect=5, within=30)
    assert {j.state for j in engine.jobs.values()} == {JobState.DONE}
    assert peak[0] == 2
    assert order[:5] == handles  # each iPad's first pairing attempt, in plug order
    assert engine.busy.taken == 0


async def test_an_ipad_waiting_for_trust_gives_its_seat_to_the_next(
    engine_for: Callable[..., Any], prepared: Prepared, ios: FakeIosDriver
) -> None:
    shy = FakeTablet(serial="DMPX000001", udid="00008030-0000000000000001", trust="prompt")
    other = FakeTablet(serial="DMPX000002", udid="00008030-0000000000000002")
    ios.plug(shy, "1-1.1")
    ios.plug(other, "1-1.2")
    bus = EventBus()
    sub = bus.subscribe()
    settings = dataclasses.replace(FAST, busy_at_once=1)
    async with engine_for(prepared, settings=settings, bus=bus) as engine:
        await job_reaches(sub, JobState.DONE, lambda job: job == f"ios:{other.udid}")
        assert engine.jobs[f"ios:{shy.udid}"].state is JobState.NEEDS_PERSON
        shy.trust = "accept"
        assert await engine.wait(expect=2, within=30)
    sub.close()
    assert {j.state for j in engine.jobs.values()} == {JobState.DONE}


async def test_the_check_runs_before_the_line_and_a_waiting_step_says_so(
    engine_for: Callable[..., Any], prepared: Prepared, ios: FakeIosDriver
) -> None:
    """One slot: an iPad that has the app takes no slot; one that needs it waits visibly."""
    gate, uploading = asyncio.Event(), asyncio.Event()

    async def hold_upload(handle: str) -> None:
        uploading.set()
        await gate.wait()

    pads = [FakeTablet(serial=f"DMPX{n:06d}", udid=f"00008030-{n:016X}") for n in (1, 2, 3)]
    pads[2].apps["de.kreissegeberg.lernapp"] = "412"  # already there: checked, never queued
    for n, pad in enumerate(pads, start=1):
        ios.plug(pad, f"1-1.{n}")
    ios.hooks["install_app"] = hold_upload
    bus = EventBus()
    sub = bus.subscribe()
    async with engine_for(prepared, settings=ONE_PER_HUB, bus=bus) as engine:
        async with asyncio.timeout(20):
            await uploading.wait()
            async for event in sub:
                if event.type is EventType.JOB and event.detail == WAITING_FOR_HUB:
                    break
        assert engine.limiter.waiting("1-1") == 1
        gate.set()
        assert await engine.wait(expect=3, within=30)
    sub.close()
    assert {j.state for j in engine.jobs.values()} == {JobState.DONE}
    assert engine.limiter.granted["1-1"] == 2  # the third iPad's check found its app
    assert all(p.apps for p in pads)


# --- the line's order: longest expected unpack first -----------------------------------------


async def served_in_order(limiter: TransferLimiter, expectations: list[float | None]) -> list[int]:
    """Queue one waiter per expectation behind held slots; the order the slots then go in."""
    holders = [await limiter.acquire("h") for _ in range(limiter.per_hub)]
    order: list[int] = []

    async def ask(n: int, expected: float | None) -> None:
        lease = await limiter.acquire("h", lambda: expected)
        order.append(n)
        await asyncio.sleep(0)
        lease.release()

    tasks = []
    for n, expected in enumerate(expectations):
        tasks.append(asyncio.ensure_future(ask(n, expected)))
        await asyncio.sleep(0)  # queued in this order
    assert limiter.waiting("h") == len(expectations)
    for holder in holders:
        holder.release()
    await asyncio.gather(*tasks)
    assert limiter.active["h"] == 0
    return order


async def test_waiters_are_served_longest_expected_unpack_first_unknowns_before_all() -> None:
    order = await served_in_order(TransferLimiter(1), [5.0, None, 20.0, 5.0, None, 1.0, 0.0])
    # Unknown (None) as if slowest, in arrival order; then 20 s, the two 5 s ones in arrival
    # order, 1 s, and a file push (nothing to unpack) last.
    assert order == [1, 4, 2, 0, 3, 5, 6]


async def test_with_two_slots_the_order_is_the_same() -> None:
    order = await served_in_order(TransferLimiter(2), [3.0, 9.0, 1.0, 9.0, 4.0])
    assert order == [1, 3, 4, 0, 2]


async def test_callers_without_an_expectation_get_a_fifo_line() -> None:
    assert await served_in_order(TransferLimiter(1), [None] * 5) == [0, 1, 2, 3, 4]


async def test_expectations_are_asked_again_whenever_a_slot_frees() -> None:
    """What the station learns while tablets wait reorders those still waiting."""
    limiter = TransferLimiter(1)
    learned: dict[str, float] = {}  # model -> seconds its unpack takes, once one was timed
    unpacks = {"A": 1.0, "B": 50.0, "C": 30.0}
    holder = await limiter.acquire("h")
    order: list[str] = []

    async def tablet(name: str, model: str) -> None:
        lease = await limiter.acquire("h", lambda: learned.get(model))
        order.append(name)
        learned[model] = unpacks[model]  # (really: once its install ended)
        await asyncio.sleep(0)
        lease.release()

    tasks = []
    for name, model in (("a", "A"), ("b", "B"), ("c", "A"), ("d", "C")):
        tasks.append(asyncio.ensure_future(tablet(name, model)))
        await asyncio.sleep(0)
    holder.release()
    await asyncio.gather(*tasks)
    # All unknown at first (arrival order: a, b); then c's model is known to be quick and the
    # unknown d goes before it. Expectations fixed at arrival would have given a, b, c, d.
    assert order == ["a", "b", "d", "c"]


async def test_a_waiter_passed_over_by_too_many_later_arrivals_goes_next() -> None:
    """A quick unpacker on a hub that keeps getting slow ones is still served (no starvation)."""
    limiter = TransferLimiter(1, max_overtakes=2)
    holder = await limiter.acquire("h")
    order: list[str] = []
    quick = asyncio.ensure_future(limiter.acquire("h", lambda: 1.0))
    await asyncio.sleep(0)
    slow = 0

    async def next_slow() -> None:
        nonlocal slow
        slow += 1
        name = f"slow{slow}"
        lease = await limiter.acquire("h", lambda: 100.0)
        order.append(name)
        if slow < 6:  # each one served brings the next slow tablet to the line
            tasks.append(asyncio.ensure_future(next_slow()))
            await asyncio.sleep(0)
        lease.release()

    tasks = [asyncio.ensure_future(next_slow())]
    await asyncio.sleep(0)
    holder.release()
    lease = await quick
    order.append("quick")
    lease.release()
    while not all(t.done() for t in tasks):
        await asyncio.gather(*tasks)
    assert order.index("quick") == 2  # two later arrivals went first, then it was its turn
    assert limiter.active["h"] == 0


async def test_leaving_an_ordered_line_passes_the_turn_to_the_next_longest() -> None:
    limiter = TransferLimiter(1)
    holder = await limiter.acquire("h")
    longest = asyncio.ensure_future(limiter.acquire("h", lambda: 90.0))
    unlucky = asyncio.ensure_future(limiter.acquire("h", lambda: 60.0))
    quick = asyncio.ensure_future(limiter.acquire("h", lambda: 5.0))
    middle = asyncio.ensure_future(limiter.acquire("h", lambda: 30.0))
    await asyncio.sleep(0)
    longest.cancel()  # unplugged while waiting: leaves the line
    with pytest.raises(asyncio.CancelledError):
        await longest
    assert limiter.waiting("h") == 3
    holder.release()  # grants ``unlucky`` (60 s) ...
    unlucky.cancel()  # ... which is cancelled before it runs again: the slot passes on
    with pytest.raises(asyncio.CancelledError):
        await unlucky
    lease = await middle
    assert not quick.done()
    lease.release()
    (await quick).release()
    assert limiter.active["h"] == 0
    assert limiter.waiting("h") == 0


def test_unpack_rates_are_the_median_of_each_models_newest_samples() -> None:
    rates = UnpackRates(keep=3)
    assert rates.expected("ios:iPad12,1", 10**9) is None  # unknown before any sample
    for seconds in (10.0, 20.0, 1000.0):  # one outlier
        rates.add("ios:iPad12,1", 10**9, seconds)
    assert rates.rate("ios:iPad12,1") == pytest.approx(10**9 / 20.0)
    assert rates.expected("ios:iPad12,1", 2 * 10**9) == pytest.approx(40.0)
    for seconds in (30.0, 30.0):  # the two oldest fall out
        rates.add("ios:iPad12,1", 10**9, seconds)
    assert rates.expected("ios:iPad12,1", 10**9) == pytest.approx(30.0)
    rates.add("", 10**9, 5.0)
    rates.add("android:SM-X200", 0, 5.0)
    rates.add("android:SM-X200", 10**9, float("nan"))
    rates.add("android:SM-X200", 10**9, -1.0)
    assert rates.models == ["ios:iPad12,1"]  # nonsense is not learned
    seeded = UnpackRates.seeded([("android:SM-X200", 10**8, s) for s in (4.0, 5.0, 6.0)])
    assert seeded.expected("android:SM-X200", 10**8) == pytest.approx(10**8 / 20_000_000)


async def test_a_hubs_second_upload_starts_a_stagger_after_the_first() -> None:
    """Two uploads granted together would end together and hand over together: the second
    slot is granted ``stagger`` after the first; a release always dispatches at once."""
    loop = asyncio.get_running_loop()
    limiter = TransferLimiter(per_hub=2, stagger=0.2)
    try:
        first, second, third = (limiter.enqueue("1-root") for _ in range(3))
        start = loop.time()
        assert first.granted
        assert not second.granted
        await second.wait()
        assert loop.time() - start >= 0.2 - 0.01  # the clock's own resolution
        assert not third.granted
        await asyncio.sleep(0.25)
        first.release()  # the hub's other upload is well under way: no wait for the next
        assert third.granted
        # Another hub is not held up by this one.
        other = limiter.enqueue("2-root")
        assert other.granted
        second.release()
        third.release()
        other.release()
        # A hub that idled: its next two go with the stagger again, the first at once.
        a, b = limiter.enqueue("1-root"), limiter.enqueue("1-root")
        assert a.granted
        assert not b.granted
        a.release()
        assert b.granted  # the only upload now: no reason to wait
        b.release()
    finally:
        limiter.close()
