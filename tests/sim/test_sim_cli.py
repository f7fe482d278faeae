"""``station sim serve``, ``station sim act`` and ``station sim show`` as a person runs them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from adbutils import AdbClient

pytestmark = pytest.mark.timeout(90)

ROOT = Path(__file__).resolve().parents[2]


def station_env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["HOME"] = str(tmp_path / "home")  # pymobiledevice3 keeps caches under ~
    for key in ("USBMUXD_SOCKET_ADDRESS", "ANDROID_ADB_SERVER_PORT"):
        env.pop(key, None)
    return env


def station(*args: str) -> list[str]:
    return [sys.executable, "-m", "station", *args]


def test_serve_prints_one_json_line_acts_and_stops_on_sigterm(tmp_path: Path) -> None:
    state = tmp_path / "state"
    env = station_env(tmp_path)
    serve = station(
        "sim", "serve", "--ipads", "1", "--androids", "1", "--hubs", "1",
        "--time-scale", "0.01", "--state-dir", str(state),
    )  # fmt: skip
    with subprocess.Popen(
        serve, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT
    ) as proc:
        try:
            assert proc.stdout is not None
            ready = json.loads(proc.stdout.readline())
            assert ready["env"]["USBMUXD_SOCKET_ADDRESS"] == ready["usbmux"]
            assert [s["kind"] for s in ready["slots"]] == ["ipad", "android"]
            assert Path(ready["usb_snapshot"]).is_file()
            tablet = ready["slots"][1]
            client = AdbClient(
                host="127.0.0.1", port=int(ready["env"]["ANDROID_ADB_SERVER_PORT"]),
                socket_timeout=20,
            )  # fmt: skip
            assert [d.serial for d in client.list()] == [tablet["serial"]]

            act = subprocess.run(
                station("sim", "act", "--state-dir", str(state), "unplug", "2"),
                capture_output=True, text=True, env=env, cwd=ROOT, timeout=60, check=False,
            )  # fmt: skip
            assert act.returncode == 0, act.stderr
            assert json.loads(act.stdout)["plugged"] is False
            assert client.list() == []

            again = subprocess.run(
                station("sim", "act", "--state-dir", str(state), "unplug", "2"),
                capture_output=True, text=True, env=env, cwd=ROOT, timeout=60, check=False,
            )  # fmt: skip
            assert again.returncode == 1
            assert "not plugged in" in again.stderr
        finally:
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert out == ""  # exactly one JSON line in all
    cart = json.loads((state / "cart.json").read_text())
    assert [s["plugged"] for s in cart["slots"]] == [True, False]
    assert not (state / "control.json").exists()
    assert (state / "slot-01" / "device.json").is_file()


def test_act_without_a_cart_fails_clearly(tmp_path: Path) -> None:
    result = subprocess.run(
        station("sim", "act", "--state-dir", str(tmp_path), "plug", "1"),
        capture_output=True, text=True, env=station_env(tmp_path), cwd=ROOT, timeout=60,
        check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert "no running cart" in result.stderr


def test_serve_rejects_a_bad_scenario(tmp_path: Path) -> None:
    scenario = tmp_path / "bad.toml"
    scenario.write_text("[slot.1]\ncolour = 'red'\n")
    result = subprocess.run(
        station("sim", "serve", "--scenario", str(scenario), "--state-dir", str(tmp_path / "s")),
        capture_output=True, text=True, env=station_env(tmp_path), cwd=ROOT, timeout=60,
        check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert f"{scenario}: slot.1.colour: unknown key" in result.stderr
    assert result.stdout == ""


def test_sim_show_lists_the_devices_as_the_real_tools_see_them(tmp_path: Path) -> None:
    result = subprocess.run(
        station("sim", "show", "--ipads", "2", "--androids", "2", "--hubs", "2", "--seed", "7"),
        capture_output=True, text=True, env=station_env(tmp_path), cwd=ROOT, timeout=80,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "usbmuxd via pymobiledevice3" in out
    assert "adb server via adbutils" in out
    assert "USB bus via pyusb" in out
    assert "Errors:" not in out, out
    lines = out.splitlines()
    ipad_rows = [line for line in lines if "0x0001" in line]  # LocationID column
    assert len(ipad_rows) == 2
    assert all(row.rstrip().endswith("yes") for row in ipad_rows)  # paired after Trust
    assert sum(" device " in line and "usb:" not in line for line in lines) == 2
