"""One provisioning run: check every input first, then run the engine until the cart is done."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from station.blueprint import Blueprint, load_blueprint
from station.drivers.base import AndroidDriver, IosDriver, SlotCalibration, UsbScanner
from station.jobs.engine import Engine, EngineSettings
from station.jobs.events import EventBus, EventType, JobEvent, JobState
from station.secrets import SecretStore, SupervisionIdentity
from station.signing import SigningPolicy, load_verified_blueprint
from station.store import Run, RunStatus, Store

log = logging.getLogger("station.jobs")


@dataclass(frozen=True)
class Prepared:
    """A validated blueprint with its secrets resolved: nothing left that could stop a run."""

    blueprint: Blueprint
    secrets: dict[str, str] = field(repr=False)
    identity: SupervisionIdentity | None = None


def prepare(path: Path, secrets: SecretStore, policy: SigningPolicy | None = None) -> Prepared:
    """Load and check the blueprint, its files and its secrets; touches no device.

    With a ``policy`` (the station's trusted county keys), a signed blueprint must verify
    before anything in it is parsed, and an unsigned one is refused when signing is required.

    Raises:
        InputError: a BlueprintError listing every problem (malformed file, missing or
            corrupt .ipa / .apk / profile, a secret that is not stored), or a SecretError
            when the supervision identity does not parse.
    """
    if policy is None:
        blueprint = load_blueprint(path, secrets=secrets)
    else:
        blueprint = load_verified_blueprint(
            path,
            secrets=secrets,
            trusted_keys=policy.trusted_keys,
            require_signed=policy.require_signed,
        )
    values = {name: secrets.get(name) for name in blueprint.secret_names()}
    identity = None
    if blueprint.ios is not None and blueprint.ios.supervise is not None:
        name = blueprint.ios.supervise.identity
        identity = SupervisionIdentity.from_pem(values[name], source=name)
    return Prepared(blueprint, values, identity)


@dataclass(frozen=True)
class RunResult:
    run_id: str
    resumed: bool
    complete: bool  # every expected device reached a final state
    jobs: list[dict[str, Any]]

    @property
    def ok(self) -> bool:
        return self.complete and bool(self.jobs) and all(j["state"] == "done" for j in self.jobs)


def open_run(store: Store, blueprint: Blueprint) -> tuple[Run, bool]:
    """Resume this blueprint's interrupted run if there is one (same content), else start one."""
    for run in reversed(store.interrupted_runs()):
        if run.blueprint_hash == blueprint.content_hash:
            return store.resume_run(run.id), True
    return store.start_run(blueprint.name, blueprint.content_hash), False


async def provision(
    prepared: Prepared,
    *,
    store: Store,
    ios: IosDriver | None,
    android: AndroidDriver | None,
    usb: UsbScanner | None = None,
    calibration: SlotCalibration | None = None,
    expect: int | None = None,
    within: float | None = None,
    settings: EngineSettings | None = None,
    bus: EventBus | None = None,
    on_engine: Callable[[Engine], None] | None = None,
) -> RunResult:
    """Run the blueprint on the cart until every device is final (or ``within`` seconds)."""
    bus = bus or EventBus()
    run, resumed = open_run(store, prepared.blueprint)
    bus.publish(
        JobEvent(
            type=EventType.RUN,
            state="resumed" if resumed else "started",
            detail=prepared.blueprint.name,
            data={"run_id": run.id},
        )
    )
    engine = Engine(
        store=store,
        blueprint=prepared.blueprint,
        run_id=run.id,
        secrets=prepared.secrets,
        identity=prepared.identity,
        ios=ios,
        android=android,
        usb=usb,
        calibration=calibration,
        settings=settings,
        bus=bus,
    )
    complete = False
    stopped = True  # until the wait returns: Ctrl-C or a crash leaves the run resumable
    try:
        async with engine:
            if on_engine is not None:
                on_engine(engine)
            complete = await engine.wait(expect=expect, within=within)
            stopped = False
    finally:
        jobs = sorted(
            (j.summary() for j in engine.jobs.values()),
            key=lambda j: (j["slot"] is None, j["slot"] or 0, j["job"]),
        )
        result = RunResult(run.id, resumed, complete, jobs)
        if expect is not None and len(jobs) < expect:
            result = RunResult(run.id, resumed, False, jobs)
        status = RunStatus.FINISHED if result.ok else RunStatus.FAILED
        if stopped:
            status = RunStatus.INTERRUPTED
        store.finish_run(run.id, status)
        bus.publish(
            JobEvent(
                type=EventType.RUN,
                state=status.value,
                data={
                    "run_id": run.id,
                    "done": sum(1 for j in jobs if j["state"] == JobState.DONE.value),
                    "devices": len(jobs),
                    "expected": expect,
                },
            )
        )
    return result
