"""The terminal front end's pieces: the live table and the fold of events into rows."""

from __future__ import annotations

import io
import json

from station.commands import _apply, _json_lines, render_table
from station.jobs.events import EventBus, EventType, JobEvent


def test_events_fold_into_one_row_per_device_with_the_next_action() -> None:
    jobs: dict[str, dict[str, object]] = {}
    _apply(jobs, JobEvent(type=EventType.DEVICE, job="ios:x", serial="X", slot=2, state="attached"))
    _apply(
        jobs,
        JobEvent(
            type=EventType.JOB,
            job="ios:x",
            state="needs_person",
            step="pair",
            detail="pair: needs trust",
            hint="Unlock the iPad and tap Trust",
        ),
    )
    _apply(jobs, JobEvent(type=EventType.PROGRESS, job="other", step="app", fraction=0.5))
    table = render_table(list(jobs.values()))  # type: ignore[arg-type]
    lines = table.splitlines()
    assert lines[0].split()[:4] == ["slot", "platform", "serial", "state"]
    assert "needs_person" in lines[1]
    assert lines[1].endswith("Unlock the iPad and tap Trust")
    assert "50%" in table


async def test_json_lines_skip_progress_and_end_with_the_stream() -> None:
    bus = EventBus()
    sub = bus.subscribe()
    bus.publish(JobEvent(type=EventType.PROGRESS, job="a", fraction=0.1))
    bus.publish(JobEvent(type=EventType.JOB, job="a", state="done"))
    sub.close()
    out = io.StringIO()
    await _json_lines(sub, out)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(e["type"], e["state"]) for e in lines] == [("job", "done")]
