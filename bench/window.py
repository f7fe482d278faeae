"""Benchmark 4: the window with 120 tablets sending progress; a new tablet's time to its tile.

Run from the repository root::

    .venv/bin/python bench/window.py [--quick] [--rate 10] [--seconds 20] [--profile]

The real window (``MainWindow`` over the real ``Runtime`` and ``EventBridge``, offscreen Qt)
and a scripted backend (``tests/ui/fakes.py``) whose run puts 120 tablets in slots and then
publishes progress events for all of them, ``--rate`` per tablet per second, on the engine's
loop thread, as the engine does. Measured on the GUI thread meanwhile:

- frame time: ``repaint()`` of the cart view's viewport every 100 ms (a full synchronous paint
  of all tiles), and ``grab()`` of the whole window every second;
- event-loop latency: a 10 ms QTimer's lateness (how long input or a paint would wait);
- plug-to-tile: every 0.5 s a new tablet's first event is published on the bus; the time until
  the cart model shows it in its slot (the tile's data changed) is the window's share of the
  plug-to-tile latency. The engine's share (USB plug to its first event, through the real
  drivers and a virtual cart) is measured by ``bench/makespan.py`` (its one-at-a-time variant).

Also counted: the batches (queued signals) and events the GUI thread received, i.e. what the
runtime's coalescing let through. ``--profile`` prints where the GUI thread spent its time
(cProfile of the GUI thread only; it slows the GUI thread down, so its frame times are not
the benchmark's).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from bench.common import command_line, load_average
from station.commands import demo_blueprint, demo_secrets
from station.jobs.events import EventBus, EventType, JobEvent, JobState
from station.ui.runtime import EventBridge, Runtime
from station.ui.window import MainWindow
from tests.ui.fakes import FakeBackend, job

DEVICES = 120
PROBES = 10  # extra slots for the "new tablet" probes


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main(args: argparse.Namespace) -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    published: dict[str, float] = {}
    shown: dict[str, float] = {}
    sent = [0]
    with tempfile.TemporaryDirectory(prefix="station-window-") as tmp_name:
        tmp = Path(tmp_name)
        backend = FakeBackend(tmp, slots=DEVICES + PROBES)
        backend.secrets = demo_secrets(tmp / "secrets")
        backend.paths = [demo_blueprint(tmp / "blueprints")]
        finished = [False]

        async def script(bus: EventBus) -> None:
            for n in range(1, DEVICES + 1):
                platform = "ios" if n % 2 else "android"
                bus.publish(
                    job(f"dev{n}", JobState.RUNNING, slot=n, platform=platform, step="app:x")
                )
            interval = 1.0 / args.rate
            start = time.monotonic()
            probe = 0
            next_probe = start + 0.5
            tick = 0
            while time.monotonic() - start < args.seconds:
                tick += 1
                fraction = (tick % 100) / 100
                for n in range(1, DEVICES + 1):
                    bus.publish(
                        JobEvent(
                            type=EventType.PROGRESS,
                            job=f"dev{n}",
                            slot=n,
                            step="app:de.kreissegeberg.lernapp",
                            fraction=fraction,
                            detail="Uploading lernapp.ipa",
                            platform="ios" if n % 2 else "android",
                        )
                    )
                    sent[0] += 1
                    if n % 12 == 0:
                        await asyncio.sleep(0)
                now = time.monotonic()
                if now >= next_probe and probe < PROBES:
                    probe += 1
                    key = f"new{probe}"
                    published[key] = time.monotonic()
                    bus.publish(job(key, JobState.WAITING, slot=DEVICES + probe))
                    next_probe = now + 0.5
                await asyncio.sleep(max(0.0, start + tick * interval - time.monotonic()))
            finished[0] = True

        backend.script = script
        runtime = Runtime(backend, EventBridge())
        runtime.start()
        window = MainWindow(runtime)
        window.resize(1600, 1000)
        window.show()
        model = window.model

        def on_changed(*_args: object) -> None:
            now = time.monotonic()
            for key in published:
                if key not in shown and model.row_of(key) is not None:
                    shown[key] = now

        model.dataChanged.connect(on_changed)
        delivered = [0, 0]  # batches, events

        def on_batch(events: list[JobEvent]) -> None:
            delivered[0] += 1
            delivered[1] += len(events)

        window.bridge.events.connect(on_batch)
        model.rowsInserted.connect(on_changed)
        model.modelReset.connect(on_changed)

        repaints: list[float] = []
        grabs: list[float] = []
        lateness: list[float] = []
        last = [time.monotonic()]

        def probe_loop() -> None:
            now = time.monotonic()
            lateness.append(max(0.0, now - last[0] - 0.010))
            last[0] = now

        def paint() -> None:
            start = time.monotonic()
            window.view.viewport().repaint()
            repaints.append(time.monotonic() - start)

        def grab() -> None:
            start = time.monotonic()
            window.grab()
            grabs.append(time.monotonic() - start)

        timers = []
        for interval, func in ((10, probe_loop), (100, paint), (1000, grab)):
            timer = QTimer()
            timer.setInterval(interval)
            timer.timeout.connect(func)
            timers.append(timer)
        runtime.start_run(backend.paths[0])
        started = time.monotonic()
        for timer in timers:
            timer.start()
        profile = cProfile.Profile() if args.profile else None
        if profile is not None:
            profile.enable()
        while not finished[0] and time.monotonic() - started < args.seconds + 30:
            app.processEvents()
            time.sleep(0.001)
        if profile is not None:
            profile.disable()
        for timer in timers:
            timer.stop()
        assert backend.finish is not None
        loop = runtime._loop
        if loop is not None:
            loop.call_soon_threadsafe(backend.finish.set)
        runtime.shutdown()
        window.deleteLater()
        app.processEvents()
    latencies = [shown[k] - published[k] for k in published if k in shown]
    print(f"command: {command_line()}")
    print(f"{load_average()} (after the run)")
    print(
        f"{DEVICES} tablets x {args.rate:g} progress events/s for {args.seconds:g} s: "
        f"{sent[0]} events ({sent[0] / args.seconds:.0f}/s), window 1600x1000 offscreen"
    )
    print(
        f"GUI thread received {delivered[0]} batches ({delivered[0] / args.seconds:.1f}/s) "
        f"with {delivered[1]} events ({delivered[1] / args.seconds:.0f}/s)"
    )
    print(f"{'':<36} {'median':>8} {'p99':>8} {'max':>8} {'n':>6}")
    rows = (
        ("cart view repaint (ms)", repaints),
        ("whole window grab (ms)", grabs),
        ("event-loop lateness, 10 ms timer (ms)", lateness),
        ("event on the bus -> tile shows it (ms)", latencies),
    )
    for name, values in rows:
        ms = [v * 1000 for v in values]
        median = statistics.median(ms) if ms else float("nan")
        print(
            f"{name:<36} {median:>8.1f} {pct(ms, 0.99):>8.1f} "
            f"{max(ms) if ms else float('nan'):>8.1f} {len(ms):>6}"
        )
    frame_p99 = pct([v * 1000 for v in repaints + lateness], 0.99)
    tile_max = max(latencies) * 1000 if latencies else float("inf")
    print(f"frame p99 (repaint and loop lateness) {frame_p99:.1f} ms: "
          f"{'met' if frame_p99 < 50 else 'NOT met'} (< 50 ms)")  # fmt: skip
    print(f"window's share of plug-to-tile, worst {tile_max:.0f} ms of {len(latencies)}/"
          f"{len(published)}: {'met' if tile_max < 500 else 'NOT met'} (< 500 ms)")  # fmt: skip
    if profile is not None:
        print("\nGUI thread, by own time (cProfile):")
        pstats.Stats(profile).sort_stats("tottime").print_stats(15)
    return 0 if frame_p99 < 50 and tile_max < 500 else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 s")
    parser.add_argument("--rate", type=float, default=10.0, help="events per tablet per second")
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--profile", action="store_true", help="where the GUI thread's time goes")
    parsed = parser.parse_args()
    if parsed.seconds is None:
        parsed.seconds = 10.0 if parsed.quick else 30.0
    raise SystemExit(main(parsed))
