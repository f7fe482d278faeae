"""The fault soak of issue 8 at full size: 120 tablets, seeded faults, two SIGKILLs, hub outages.

Run from the repository root::

    .venv/bin/python bench/soak.py [--quick | --short] [--seed 8] [--keep DIR]

The same soak as ``tests/soak/test_soak.py`` (see ``tests/soak/soak.py``), with 60 iPads + 60
Android tablets on 8 hubs, cables pulled and plugged back, reboots, an iPad whose person
denies trust, an Android tablet that waits for Allow, two SIGKILLs of ``station run`` (each
restarted; the first also takes the county hub down, the second the relay, and the cart's
emulators restart during it), a restart of the cart's emulators under the running station, a
second hub outage, and a final check through pymobiledevice3 and adbutils, of the asset tags,
the outbox, ``PRAGMA integrity_check`` and, once the relay drained the outbox, of the hub's
records: every result of the station exactly once, no dead letters.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import command_line, load_average, quiet_environment
from tests.soak.soak import SoakReport, SoakSpec, check, known_bug, run_soak


def _spec(args: argparse.Namespace) -> SoakSpec:
    if args.quick:
        return SoakSpec(ipads=4, androids=4, hubs=2, seed=args.seed, pulls=2, reboots=1,
                        kills=1, limit=58)  # fmt: skip
    if args.short:  # the test's size
        return SoakSpec(ipads=6, androids=6, seed=args.seed, limit=90, drain_limit=30)
    return SoakSpec(ipads=60, androids=60, hubs=8, seed=args.seed, pulls=12, reboots=6,
                    kills=2, hub_outages=3, live_restarts=1, limit=args.limit,
                    drain_limit=120, outage_limit=30)  # fmt: skip


async def _soak(args: argparse.Namespace, spec: SoakSpec) -> tuple[SoakReport, float]:
    started = time.monotonic()
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=False)
        report = await run_soak(args.keep, spec)
    else:
        with tempfile.TemporaryDirectory(prefix="station-soak-") as tmp:
            report = await run_soak(Path(tmp), spec)
    return report, time.monotonic() - started


def _print(report: SoakReport, spec: SoakSpec, wall: float) -> list[str]:
    problems = check(report)
    n = spec.ipads + spec.androids
    print(f"command: {command_line()}")
    print(f"{load_average()} (after the run)")
    print(f"cart: {spec.ipads} iPads + {spec.androids} Android on {spec.hubs} hubs, "
          f"time scale {spec.time_scale:g}, seed {spec.seed}")  # fmt: skip
    cpu = report.station_cpu
    print(f"settled in {report.seconds:.1f} s wall; outbox drained {report.drain_seconds:.1f} s "
          f"later; whole soak with read-back {wall:.1f} s; station CPU {cpu:.1f} s")  # fmt: skip
    print("faults, in order:")
    for fault in report.faults:
        print(f"  - {fault}")
    done = sum(1 for j in report.jobs.values() if j["state"] == "done")
    tags = sum(len(t) for t in report.asset_tags.values())
    print(f"devices done: {done}/{n} (1 denied trust: a person state)")
    after = Counter(tuple(dict.fromkeys(s)) for s in report.live_restart.values())
    print(
        f"jobs in flight at the live cart restart: {len(report.live_restart)}, "
        f"finished: {sum(report.live_restart_done.values())}; their states afterwards: "
        + "; ".join(f"{' > '.join(k) or '(no event)'} x{c}" for k, c in after.most_common())
    )
    records = sum(report.results.values())
    print(f"asset tags: {tags} for {len(report.asset_tags)} devices; "
          f"outbox rows: {records} {dict(report.outbox_states)}; "
          f"integrity_check: {report.integrity}")  # fmt: skip
    print(f"hub: {len(report.hub_records)} records for {report.result_records} device results "
          f"of the station; {report.hub_replayed} deliveries answered as replays; "
          f"{report.relay_retried} results met the hub down first; outages the relay met: "
          f"{report.outages_met}; hub integrity_check: {report.hub_integrity}")  # fmt: skip
    for note in report.notes:
        print(f"note: {note}")
    print("verdict: " + ("every check passed" if not problems else "PROBLEMS:"))
    for problem in problems:
        where = known_bug(problem)
        print(f"  - {problem}" + (f" (known station bug: {where})" if where else ""))
    return problems


async def main(args: argparse.Namespace) -> int:
    quiet_environment()
    spec = _spec(args)
    report, wall = await _soak(args, spec)
    return 0 if not _print(report, spec, wall) else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="8 tablets, one SIGKILL")
    parser.add_argument("--short", action="store_true", help="the test's 12 tablets")
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--limit", type=float, default=900.0, help="wall seconds at most")
    parser.add_argument("--keep", type=Path, default=None, help="soak in DIR and keep it (logs)")
    raise SystemExit(asyncio.run(main(parser.parse_args())))
