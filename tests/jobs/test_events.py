"""The event stream: every subscriber gets every state change; a slow one never blocks."""

from __future__ import annotations

import asyncio
import json

from station.jobs.events import EventBus, EventType, JobEvent, JobState
from station.jobs.transfers import TransferLimiter, hub_of


def job(state: JobState, key: str = "a") -> JobEvent:
    return JobEvent(type=EventType.JOB, job=key, state=state.value)


def progress(fraction: float, key: str = "a", step: str = "app:x") -> JobEvent:
    return JobEvent(type=EventType.PROGRESS, job=key, step=step, fraction=fraction)


async def test_every_subscriber_sees_every_event_in_order() -> None:
    bus = EventBus()
    first, second = bus.subscribe(), bus.subscribe()
    for state in (JobState.WAITING, JobState.RUNNING, JobState.DONE):
        bus.publish(job(state))
    bus.close()
    seen = [[e.state async for e in sub] for sub in (first, second)]
    assert seen == [["waiting", "running", "done"]] * 2


async def test_a_slow_subscriber_gets_the_newest_progress_and_every_state() -> None:
    bus = EventBus()
    slow = bus.subscribe(maxsize=4)
    bus.publish(job(JobState.RUNNING))
    for i in range(1000):  # publishing never waits for the subscriber
        bus.publish(progress(i / 1000))
    bus.publish(job(JobState.DONE))
    events = slow.pending()
    assert [e.type for e in events] == [EventType.JOB, EventType.PROGRESS, EventType.JOB]
    assert events[1].fraction == 0.999
    assert slow.dropped == 0


async def test_a_full_queue_drops_progress_before_states() -> None:
    bus = EventBus()
    sub = bus.subscribe(maxsize=3)
    bus.publish(progress(0.5, key="a"))
    bus.publish(progress(0.5, key="b"))
    bus.publish(job(JobState.RUNNING, key="a"))
    bus.publish(job(JobState.DONE, key="a"))
    events = sub.pending()
    assert [(e.job, e.type) for e in events] == [
        ("b", EventType.PROGRESS),
        ("a", EventType.JOB),
        ("a", EventType.JOB),
    ]
    assert sub.dropped == 1


async def test_iteration_waits_for_events_and_ends_on_close() -> None:
    bus = EventBus()
    sub = bus.subscribe()

    async def collect() -> list[str]:
        return [e.state async for e in sub]

    task = asyncio.ensure_future(collect())
    await asyncio.sleep(0)
    bus.publish(job(JobState.NEEDS_PERSON))
    await asyncio.sleep(0)
    sub.close()
    assert await task == ["needs_person"]
    bus.publish(job(JobState.DONE))  # a closed subscription gets nothing more


def test_events_are_json_lines() -> None:
    event = JobEvent(
        type=EventType.JOB, job="ios:x", slot=3, state="needs_person", hint="Unlock the iPad"
    )
    data = json.loads(json.dumps(event.to_json()))
    assert data["slot"] == 3
    assert data["hint"] == "Unlock the iPad"
    assert "fraction" not in data


def test_hub_of_port_paths() -> None:
    assert hub_of("1-2.3") == "1-2"
    assert hub_of("usb:1-2.3") == "1-2"
    assert hub_of("2-1.4.2") == "2-1.4"
    assert hub_of("1-4") == "1-root"
    assert hub_of(None) == "?"


async def test_limiter_holds_at_most_k_per_hub() -> None:
    limiter = TransferLimiter(2)
    running: dict[str, int] = {"a": 0, "b": 0}
    peak: dict[str, int] = {"a": 0, "b": 0}

    async def transfer(hub: str) -> None:
        async with limiter.slot(hub):
            running[hub] += 1
            peak[hub] = max(peak[hub], running[hub])
            await asyncio.sleep(0.01)
            running[hub] -= 1

    await asyncio.gather(*(transfer("a") for _ in range(5)), *(transfer("b") for _ in range(3)))
    assert peak == {"a": 2, "b": 2}
