"""A stand-in for the engine: records device results (with hub outbox rows) into a Store.

Usage: python writer_proc.py DB_PATH COUNT [N:FILE ...]. Before result N the writer waits
until FILE exists (the test's phases). Results already recorded are skipped, so a writer
killed part-way is simply started again.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from pathlib import Path

from station.store import StepStatus, Store
from station.sync.targets import DeviceResult, hub_entry


def main() -> None:
    path, count = Path(sys.argv[1]), int(sys.argv[2])
    gates = {int(n): Path(f) for n, f in (arg.split(":", 1) for arg in sys.argv[3:])}
    with Store(path) as store:
        run = store.start_run("cart", "hash")
        for i in range(count):
            if i in gates:
                while not gates[i].exists():
                    time.sleep(0.02)
            serial = f"DMP{i:06d}"
            device = store.upsert_device("ios" if i % 2 else "android", serial, udid=serial)
            if store.step_done(device.id, "enroll"):
                continue
            result = DeviceResult(
                serial=serial,
                platform="ios" if i % 2 else "android",
                step="enroll",
                status="done",
                recorded_at=dt.datetime.now(dt.UTC),
                operator="Stadt Nordhafen",
                school="Realschule Nord",
                cart="cart-1",
                cart_size=count,
                slot=i + 1,
                run_id=run.id,
                milestone="provisioned",
            )
            store.record_step_result(
                run.id,
                device.id,
                "enroll",
                StepStatus.DONE,
                outbox=[hub_entry(result, idempotency_key=f"{serial}:enroll")],
            )
            sys.stdout.write(f"{i + 1}\n")
            sys.stdout.flush()
            time.sleep(0.02)


if __name__ == "__main__":
    main()
