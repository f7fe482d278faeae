"""The fault soak of issue 8 at full size: 120 tablets, seeded faults, two SIGKILLs.

Run from the repository root::

    .venv/bin/python bench/soak.py [--quick] [--seed 8]

The same soak as ``tests/soak/test_soak.py`` (see ``tests/soak/soak.py``), with 60 iPads + 60
Android tablets on 8 hubs, cables pulled and plugged back, reboots, an iPad whose person
denies trust, an Android tablet that waits for Allow, two SIGKILLs of ``station run`` (each
restarted; the cart's emulators restart during the second) and a final check through
pymobiledevice3 and adbutils, of the asset tags, the outbox and ``PRAGMA integrity_check``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import command_line, load_average, quiet_environment
from tests.soak.soak import SoakSpec, check, run_soak


async def main(args: argparse.Namespace) -> int:
    quiet_environment()
    if args.quick:
        spec = SoakSpec(ipads=4, androids=4, hubs=2, seed=args.seed, pulls=2, reboots=1,
                        kills=1, limit=58)  # fmt: skip
    else:
        spec = SoakSpec(ipads=60, androids=60, hubs=8, seed=args.seed, pulls=12, reboots=6,
                        kills=2, limit=args.limit)  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="station-soak-") as tmp:
        report = await run_soak(Path(tmp), spec)
    problems = check(report)
    n = spec.ipads + spec.androids
    print(f"command: {command_line()}")
    print(f"{load_average()} (after the run)")
    print(f"cart: {spec.ipads} iPads + {spec.androids} Android on {spec.hubs} hubs, "
          f"time scale {spec.time_scale:g}, seed {spec.seed}")  # fmt: skip
    cpu = report.station_cpu
    print(f"settled and checked in {report.seconds:.1f} s wall; station CPU {cpu:.1f} s")
    print("faults, in order:")
    for fault in report.faults:
        print(f"  - {fault}")
    done = sum(1 for j in report.jobs.values() if j["state"] == "done")
    tags = sum(len(t) for t in report.asset_tags.values())
    print(f"devices done: {done}/{n} (1 denied trust: a person state)")
    records = sum(report.results.values())
    print(f"asset tags: {tags} for {len(report.asset_tags)} devices; "
          f"upstream records: {records}; integrity_check: {report.integrity}")  # fmt: skip
    print("verdict: " + ("every check passed" if not problems else "PROBLEMS:"))
    for problem in problems:
        print(f"  - {problem}")
    return 0 if not problems else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="8 tablets, one SIGKILL")
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--limit", type=float, default=900.0, help="wall seconds at most")
    raise SystemExit(asyncio.run(main(parser.parse_args())))
