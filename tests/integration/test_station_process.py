"""``python -m station run`` as a process: killed with SIGKILL mid-run, and refusing bad input."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from station import signing
from station.sim.cart import VirtualCart
from station.sim.scenario import Scenario, SlotOverride
from station.store import DB_NAME, OutboxState, RunStatus, StepStatus, Store
from station.sync.targets import OP_DEVICE_RESULT, DeviceResult
from tests.integration.conftest import KEEP_ADB, station_command

ONCE_STEPS = ("erase", "supervise", "device_owner")
FAST_FLAGS = ("--json", "--person-poll", "0.1", "--backoff-scale", "0.01")


async def _start(command: list[str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        *command,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


async def _finish(proc: asyncio.subprocess.Process, limit: float = 120) -> tuple[str, str]:
    async with asyncio.timeout(limit):
        out, err = await proc.communicate()
    return out.decode(), err.decode()


@pytest.mark.slow
async def test_sigkill_mid_run_then_restart_finishes_with_nothing_twice(
    cart_factory: Callable[..., Any],
    station_dir: Path,
    blueprint_variant: Callable[..., Path],
) -> None:
    blueprint = blueprint_variant(KEEP_ADB, name="sigkill")
    slots = {n: SlotOverride(trust="accept") for n in (1, 2, 3)}
    slots[2] = SlotOverride(trust="accept", setup_done=True)  # needs an erase
    cart: VirtualCart = await cart_factory(
        ipads=3, androids=3, scenario=Scenario(slots=slots), time_scale=0.01
    )
    boots = {n: s.ipad.boot_count for n, s in cart.slots.items() if s.ipad is not None}
    command = station_command(
        cart, station_dir, "run", "--blueprint", str(blueprint), "--expect", "6", *FAST_FLAGS
    )

    first = await _start(command)
    assert first.stdout is not None
    seen: list[dict[str, Any]] = []
    async with asyncio.timeout(120):
        while True:
            line = await first.stdout.readline()
            assert line, (await first.stderr.read()).decode() if first.stderr else ""
            event = json.loads(line)
            seen.append(event)
            # Kill right after a once-step finished on some device, mid-run for the others.
            once = event.get("type") == "step" and event.get("step") in ONCE_STEPS
            if once and event.get("state") == "done":
                first.send_signal(signal.SIGKILL)
                break
    await _finish(first)
    assert first.returncode == -signal.SIGKILL
    finished = [e for e in seen if e.get("type") == "job" and e.get("state") == "done"]
    assert len(finished) < 6  # killed mid-run
    assert not any(e.get("type") == "summary" for e in seen)

    second = await _start(command)
    out, err = await _finish(second)
    assert second.returncode == 0, err[-3000:]
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["type"] == "summary"
    assert summary["resumed"] is True
    assert summary["ok"] is True
    assert len(summary["devices"]) == 6

    # Device side: the used iPad was erased exactly once, nobody else at all; all provisioned.
    for n, s in cart.slots.items():
        if s.ipad is not None:
            assert s.ipad.boot_count == boots[n] + (1 if n == 2 else 0), n
            assert s.ipad.supervised
            assert "de.kreissegeberg.lernapp" in s.ipad.apps
        else:
            assert s.android is not None
            assert s.android.device_owner is not None
            assert set(s.android.packages) >= {"de.kreissegeberg.lernapp"}

    # Records: one run, interrupted then resumed and finished; nothing lost, nothing twice.
    with Store(station_dir / DB_NAME) as store:
        (run,) = store.runs()
        assert run.status is RunStatus.FINISHED
        kinds = [e.kind for e in store.events(run_id=run.id)]
        assert "run.interrupted" in kinds
        assert "run.resumed" in kinds
        rows = store.history(run_id=run.id, limit=100_000)
        devices = {r.device_id for r in rows}
        assert len(devices) == 6
        for device_id in devices:
            mine = [r for r in rows if r.device_id == device_id]
            for step in ONCE_STEPS:
                done = [r for r in mine if r.step == step and r.status is StepStatus.DONE]
                assert len(done) <= 1, (device_id, step)
            results = [r for r in mine if r.step == "result"]
            assert [r.status for r in results] == [StepStatus.DONE]
            assert not [r for r in mine if r.status is StepStatus.RUNNING]
        outbox = store.outbox(state=OutboxState.PENDING)
        assert sorted(o.op for o in outbox) == [OP_DEVICE_RESULT] * 6
        results = [DeviceResult.model_validate(o.payload) for o in outbox]
        assert {r.milestone for r in results} == {"provisioned"}

    history = await _start([*station_python(), "history", "--json", "--data-dir", str(station_dir)])
    out, err = await _finish(history, limit=60)
    assert history.returncode == 0, err
    (entry,) = [json.loads(line) for line in out.splitlines()]
    assert entry["status"] == "finished"
    assert sorted(d["status"] for d in entry["devices"]) == ["done"] * 6
    assert all(d["asset_tag"].startswith("SEG042-") for d in entry["devices"])


BAD_TOML = 'name = "broken\nschool = {'


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("malformed", "not valid TOML"),
        ("missing_apk", "fehlt.apk"),
        ("corrupt_ipa", "ios.apps[0]: not a zip archive"),
        ("missing_secret", "nicht-gespeichert"),
        ("unsigned", "not signed"),
        ("altered", "was changed after signing"),
    ],
)
async def test_bad_input_stops_the_run_before_any_device_is_touched(
    cart_factory: Callable[..., Any],
    station_dir: Path,
    blueprint_variant: Callable[..., Path],
    case: str,
    expected: str,
) -> None:
    cart: VirtualCart = await cart_factory(ipads=1, androids=1)
    if case == "malformed":
        blueprint = blueprint_variant(name="malformed")
        blueprint.write_text(BAD_TOML, encoding="utf-8")
    elif case == "missing_apk":
        blueprint = blueprint_variant(
            ("demo/apps/lernapp.apk", "demo/apps/fehlt.apk"), name="missing-apk"
        )
    elif case == "corrupt_ipa":
        blueprint = blueprint_variant(
            ("demo/apps/lernapp.ipa", "demo/apps/kaputt.ipa"), name="corrupt-ipa"
        )
        (blueprint.parent / "demo/apps/kaputt.ipa").write_bytes(b"PK\x03\x04 not really a zip")
    elif case == "missing_secret":
        blueprint = blueprint_variant(
            ('identity = "supervision-2026"', 'identity = "nicht-gespeichert"'),
            name="missing-secret",
        )
    else:
        # This station trusts one county key and insists on signed blueprints.
        private_pem, public = signing.generate_keypair()
        trusted = station_dir / signing.TRUSTED_KEYS_DIR
        trusted.mkdir(parents=True)
        (trusted / "kreis.pub").write_bytes(public)
        (trusted / signing.REQUIRE_SIGNED_FILE).touch()
        blueprint = blueprint_variant(name=case)
        if case == "altered":
            signing.sign_blueprint(blueprint, private_pem, signer="Kreis Segeberg")
            text = blueprint.read_text(encoding="utf-8")
            blueprint.write_text(text.replace("digits = 5", "digits = 6"), encoding="utf-8")
    command = station_command(cart, station_dir, "run", "--blueprint", str(blueprint), "--json")
    proc = await _start(command)
    out, err = await _finish(proc, limit=60)
    assert proc.returncode == 2, (out, err)
    assert expected in err
    assert "no device was touched" in err
    assert out == ""
    for s in cart.slots.values():
        assert s.milestones == {}, s.number
        if s.ipad is not None:
            assert s.ipad.paired_hosts == {}
            assert not s.ipad.trust_prompt_open
    assert not (station_dir / DB_NAME).exists()


async def test_demo_provisions_a_virtual_cart_headless(quiet_env: None) -> None:
    proc = await _start(
        [
            *station_python(),
            "demo",
            "--headless",
            "--json",
            "--ipads",
            "2",
            "--androids",
            "2",
            "--time-scale",
            "0.005",
        ]
    )
    out, err = await _finish(proc, limit=120)
    assert proc.returncode == 0, err[-3000:]
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["ok"] is True
    assert [d["state"] for d in summary["devices"]] == ["done"] * 4
    android = [d for d in summary["devices"] if d["platform"] == "android"]
    # The demo blueprint switches USB debugging off last: the tablets left adb, still done.
    assert all(d["done_steps"] == 7 for d in android)  # the last: usb_debugging_off


def station_python() -> list[str]:
    return [sys.executable, "-m", "station"]


async def test_devices_lists_the_cart_with_slots(
    cart_factory: Callable[..., Any], station_dir: Path
) -> None:
    cart: VirtualCart = await cart_factory(ipads=1, androids=2)
    proc = await _start(station_command(cart, station_dir, "devices", "--json"))
    out, err = await _finish(proc, limit=60)
    assert proc.returncode == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert [(r["slot"], r["platform"]) for r in rows] == [
        (1, "ios"),
        (2, "android"),
        (3, "android"),
    ]
    ipad = cart.slot(1).ipad
    assert ipad is not None
    assert rows[0]["handle"] == ipad.udid
    assert rows[1]["handle"] == f"usb:{cart.slot(2).port.path}"
    assert rows[1]["serial"] == cart.slot(2).device_id
    assert ipad.paired_hosts == {}  # listing does not pair
