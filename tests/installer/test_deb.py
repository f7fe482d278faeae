"""The .deb installs into a scratch root with dpkg: binary, udev rules, desktop entry, icon."""

from __future__ import annotations

import fnmatch
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from station import __version__
from tests.installer.conftest import BUILD_TIMEOUT, ROOT

pytestmark = pytest.mark.timeout(BUILD_TIMEOUT + 300)
slow = pytest.mark.slow  # the tests that need the built bundle and .deb

PACKAGE = "enrollment-station"
RULES = ("39-enrollment-station-apple.rules", "51-enrollment-station-android.rules")
DEB_SOURCES = ROOT / "installer" / "deb"
# Sonames PyInstaller leaves to the system and the Debian package that has each, for libraries
# the build machine itself lacks (so `dpkg -S` cannot name the package).
MISSING_ON_BUILD_MACHINE = {
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
}
GLIBC_PACKAGES = {"libc6"}


def dpkg(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """dpkg on a scratch root: no chroot (scripts see DPKG_ROOT), own database and log."""
    command = [
        "dpkg",
        f"--root={root}",
        f"--log={root / 'var' / 'log' / 'dpkg.log'}",
        "--force-not-root",
        "--force-script-chrootless",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)


def scratch_root(base: Path) -> Path:
    root = base / "root"
    for folder in ("var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers", "var/log"):
        (root / folder).mkdir(parents=True)
    (root / "var" / "lib" / "dpkg" / "status").touch()
    return root


def control_fields(deb: Path) -> dict[str, str]:
    text = subprocess.run(
        ["dpkg-deb", "--field", str(deb)], capture_output=True, text=True, check=True
    ).stdout
    fields: dict[str, str] = {}
    key = ""
    for line in text.splitlines():
        if line.startswith(" ") and key:
            fields[key] += "\n" + line
        else:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


def package_names(relation: str) -> set[str]:
    """``a, b (>= 1) | c`` → {a, b, c}."""
    return {re.split(r"[\s(]", alt.strip())[0] for alt in re.split(r"[,|]", relation) if alt}


@pytest.fixture(scope="module")
def installed(deb_package: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = scratch_root(tmp_path_factory.mktemp("dpkg"))
    result = dpkg(root, "--force-depends", "--install", str(deb_package))
    assert result.returncode == 0, result.stderr
    return root


# --- control file ------------------------------------------------------------------------


@slow
def test_control_names_the_package_version_architecture_and_dependencies(
    deb_package: Path, linux_bundle: Path
) -> None:
    fields = control_fields(deb_package)
    arch = subprocess.run(
        ["dpkg", "--print-architecture"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert fields["Package"] == PACKAGE
    assert fields["Version"] == __version__
    assert fields["Architecture"] == arch
    assert deb_package.name == f"{PACKAGE}_{__version__}_{arch}.deb"
    assert "@" in fields["Maintainer"]
    depends = package_names(fields["Depends"])
    assert {"usbmuxd", "libusb-1.0-0", "libc6"} <= depends
    assert re.search(r"libc6 \(>= 2\.\d+\)", fields["Depends"])
    assert "adb" in package_names(fields["Recommends"])
    assert int(fields["Installed-Size"]) * 1024 >= sum(
        p.stat().st_size for p in linux_bundle.rglob("*") if p.is_file() and not p.is_symlink()
    )


@slow
def test_every_system_library_the_bundle_loads_is_in_depends(
    deb_package: Path, linux_bundle: Path
) -> None:
    """Each ELF file's own NEEDED entries that resolve outside the bundle (ldd shows where)
    must come from a package in Depends; what those libraries need in turn is their business."""
    depends = package_names(control_fields(deb_package)["Depends"])
    internal = linux_bundle / "_internal"
    search = [internal, *{p.parent for p in internal.rglob("*.so*") if p.is_file()}]
    env = {**os.environ, "LD_LIBRARY_PATH": os.pathsep.join(map(str, search))}
    system_libs: dict[str, str] = {}
    missing: set[str] = set()
    for path in [linux_bundle / "station", *internal.rglob("*")]:
        if not path.is_file() or path.is_symlink() or not is_elf(path):
            continue
        headers = subprocess.run(
            ["objdump", "-p", str(path)], capture_output=True, text=True, check=True
        ).stdout
        direct = set(re.findall(r"^\s*NEEDED\s+(\S+)", headers, re.MULTILINE))
        out = subprocess.run(
            ["ldd", str(path)], capture_output=True, text=True, env=env, check=False
        ).stdout
        for soname, target in re.findall(r"^\s*(\S+) => (.+?) \(0x", out, re.MULTILINE):
            if soname in direct and not target.startswith(str(linux_bundle)):
                system_libs[soname] = target
        found = set(re.findall(r"^\s*(\S+) => not found", out, re.MULTILINE))
        missing |= found & direct
    assert missing <= set(MISSING_ON_BUILD_MACHINE), missing - set(MISSING_ON_BUILD_MACHINE)
    needed = {MISSING_ON_BUILD_MACHINE[soname] for soname in missing}
    for soname, target in system_libs.items():
        needed.add(owning_package(Path(target), soname))
    assert needed <= depends | GLIBC_PACKAGES, needed - depends


def is_elf(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(4) == b"\x7fELF"


def owning_package(path: Path, soname: str) -> str:
    candidates = set()
    for text in (str(path), str(path.resolve())):  # merged /usr: dpkg may know either spelling
        candidates |= {text, text.removeprefix("/usr"), "/usr" + text.removeprefix("/usr")}
    for candidate in sorted(candidates):
        result = subprocess.run(
            ["dpkg", "-S", candidate], capture_output=True, text=True, check=False
        )
        if result.returncode == 0:
            return result.stdout.split(":", 1)[0].split(",")[0].strip()
    raise AssertionError(f"no Debian package owns {soname} ({path})")


# --- installed into a scratch root -------------------------------------------------------


@slow
def test_installs_with_binary_symlink_rules_desktop_entry_and_icons(installed: Path) -> None:
    status = dpkg(installed, "--status", PACKAGE)
    assert "Status: install ok installed" in status.stdout
    binary = installed / "opt" / PACKAGE / "station"
    assert binary.is_file()
    assert os.access(binary, os.X_OK)
    link = installed / "usr" / "bin" / "station"
    assert link.is_symlink()
    assert os.readlink(link) == f"/opt/{PACKAGE}/station"
    for name in RULES:
        rules = installed / "lib" / "udev" / "rules.d" / name
        assert rules.read_bytes() == (DEB_SOURCES / name).read_bytes()
        assert rules.stat().st_mode & 0o777 == 0o644
    desktop = installed / "usr" / "share" / "applications" / f"{PACKAGE}.desktop"
    assert desktop.is_file()
    hicolor = installed / "usr" / "share" / "icons" / "hicolor"
    assert (hicolor / "scalable" / "apps" / f"{PACKAGE}.svg").is_file()
    png = hicolor / "256x256" / "apps" / f"{PACKAGE}.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (installed / "usr" / "share" / "doc" / PACKAGE / "copyright").is_file()
    listed = set(dpkg(installed, "--listfiles", PACKAGE).stdout.split())
    assert f"/lib/udev/rules.d/{RULES[0]}" in listed
    assert "/usr/bin/station" in listed


@slow
def test_installed_station_runs_from_the_scratch_root(installed: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [str(installed / "opt" / PACKAGE / "station"), "--version"],
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"station {__version__}"


@slow
def test_desktop_entry_is_valid_and_starts_the_window(installed: Path) -> None:
    desktop = installed / "usr" / "share" / "applications" / f"{PACKAGE}.desktop"
    entry = dict(line.split("=", 1) for line in desktop.read_text().splitlines() if "=" in line)
    assert entry["Type"] == "Application"
    assert entry["Exec"].split() == ["station", "gui"]
    assert entry["Icon"] == PACKAGE
    assert entry["Terminal"] == "false"
    validator = shutil.which("desktop-file-validate")
    if validator is None:
        pytest.fail("desktop-file-validate is missing: apt-get install desktop-file-utils")
    result = subprocess.run([validator, str(desktop)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""  # no hints or warnings either


@slow
def test_remove_takes_the_files_away(deb_package: Path, tmp_path: Path) -> None:
    root = scratch_root(tmp_path)
    assert dpkg(root, "--force-depends", "--install", str(deb_package)).returncode == 0
    result = dpkg(root, "--remove", PACKAGE)
    assert result.returncode == 0, result.stderr
    assert not (root / "usr" / "bin" / "station").exists()
    assert not (root / "opt" / PACKAGE / "station").exists()
    assert not (root / "lib" / "udev" / "rules.d" / RULES[0]).exists()


@slow
def test_maintainer_scripts_leave_the_host_alone_under_dpkg_root(
    installed: Path, tmp_path: Path
) -> None:
    """With DPKG_ROOT set (a scratch or image root) postinst must not reload the host's udev."""
    calls = tmp_path / "calls"
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "udevadm").write_text(f'#!/bin/sh\necho "$@" >> {calls}\n')
    (fake / "udevadm").chmod(0o755)
    script = installed / "var" / "lib" / "dpkg" / "info" / f"{PACKAGE}.postinst"
    env = {"PATH": f"{fake}:/usr/bin:/bin", "DPKG_ROOT": str(installed)}
    subprocess.run(["/bin/sh", str(script), "configure"], env=env, check=True)
    assert not calls.exists()
    if Path("/run/udev").is_dir():  # on a host with udev, without DPKG_ROOT it reloads the rules
        env.pop("DPKG_ROOT")
        subprocess.run(["/bin/sh", str(script), "configure"], env=env, check=True)
        assert "control --reload-rules" in calls.read_text()


# --- the udev rules, read as udev reads them -----------------------------------------------


@dataclass
class Device:
    """A uevent as udev sees it: the properties and sysfs attributes rules match on."""

    attrs: dict[str, str]
    env: dict[str, str] = field(default_factory=dict)
    subsystem: str = "usb"
    action: str = "add"


@dataclass
class Outcome:
    assigned: dict[str, str] = field(default_factory=dict)
    tags: set[str] = field(default_factory=set)


TOKEN = re.compile(r'\s*([A-Z_]+(?:\{[^}]+\})?)\s*(==|!=|\+=|-=|:=|=)\s*"([^"]*)"\s*(?:,|$)')
MATCH_KEYS = re.compile(r"^(ACTION|SUBSYSTEM|ENV\{\w+\}|ATTR\{\w+\})$")
ASSIGN_KEYS = re.compile(r"^(MODE|GROUP|TAG|GOTO|LABEL)$")


def parse_rules(text: str) -> list[list[tuple[str, str, str]]]:
    """Each rule line as (key, operator, value) triples; fails on anything udev would reject."""
    rules = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        tokens: list[tuple[str, str, str]] = []
        position = 0
        while position < len(line):
            match = TOKEN.match(line, position)
            assert match, f"line {number}: cannot parse {line[position:]!r}"
            key, op, value = match.groups()
            if op in ("==", "!="):
                assert MATCH_KEYS.match(key), f"line {number}: unknown match key {key}"
            else:
                assert ASSIGN_KEYS.match(key), f"line {number}: unknown assignment {key}"
            tokens.append((key, op, value))
            position = match.end()
        rules.append(tokens)
    return rules


def udev_glob(value: str, pattern: str) -> bool:
    return any(fnmatch.fnmatchcase(value, alt) for alt in pattern.split("|"))


def evaluate(rules: list[list[tuple[str, str, str]]], device: Device) -> Outcome:
    """Apply the rules to ``device`` the way udev does for the keys these files use."""
    outcome = Outcome()
    labels = {r[0][2]: i for i, r in enumerate(rules) if r[0][0] == "LABEL"}
    index = 0
    while index < len(rules):
        rule = rules[index]
        index += 1
        matched = True
        for key, op, value in rule:
            if op not in ("==", "!="):
                continue
            if key == "ACTION":
                actual = device.action
            elif key == "SUBSYSTEM":
                actual = device.subsystem
            elif key.startswith("ENV{"):
                actual = device.env.get(key[4:-1], "")
            else:
                actual = device.attrs.get(key[5:-1], "")
            if udev_glob(actual, value) != (op == "=="):
                matched = False
                break
        if not matched:
            continue
        for key, op, value in rule:
            if key == "GOTO":
                index = labels[value]
            elif key == "TAG" and op == "+=":
                outcome.tags.add(value)
            elif key in ("MODE", "GROUP"):
                outcome.assigned[key] = value
    return outcome


def rules_outcome(name: str, device: Device) -> Outcome:
    return evaluate(parse_rules((DEB_SOURCES / name).read_text()), device)


def usb_device(vendor: str, product: str, interfaces: str = "", action: str = "add") -> Device:
    env = {"DEVTYPE": "usb_device", "ID_USB_INTERFACES": interfaces}
    return Device(attrs={"idVendor": vendor, "idProduct": product}, env=env, action=action)


def test_udevadm_accepts_the_rules() -> None:
    udevadm = shutil.which("udevadm")
    if udevadm is None:
        pytest.skip("udevadm is not installed (the rules are parsed by this file's own reader)")
    probe = subprocess.run([udevadm, "verify", "--help"], capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip("this udevadm has no 'verify' (systemd < 254)")
    for name in RULES:
        result = subprocess.run(
            [udevadm, "verify", str(DEB_SOURCES / name)], capture_output=True, text=True
        )
        assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("product", "why"),
    [("12ab", "iPad"), ("12a8", "iPhone"), ("1901", "newer device"), ("1281", "recovery"),
     ("1227", "DFU")],
)  # fmt: skip
def test_apple_rule_gives_the_seat_user_access(product: str, why: str) -> None:
    outcome = rules_outcome(RULES[0], usb_device("05ac", product))
    assert outcome.assigned == {"MODE": "0660", "GROUP": "plugdev"}, why
    assert outcome.tags == {"uaccess"}, why


@pytest.mark.parametrize(
    "device",
    [
        usb_device("05ac", "0250"),  # an Apple keyboard
        usb_device("05ac", "12ab", action="remove"),
        Device(attrs={"idVendor": "05ac", "idProduct": "12ab"}, env={"DEVTYPE": "usb_interface"}),
        usb_device("04e8", "6860"),  # Samsung is the Android file's business
    ],
)
def test_apple_rule_leaves_other_devices_alone(device: Device) -> None:
    assert rules_outcome(RULES[0], device) == Outcome()


@pytest.mark.parametrize(
    "device",
    [
        usb_device("04e8", "6860"),  # Samsung, before udev knows its interfaces
        usb_device("18d1", "4ee7"),  # Google
        usb_device("17ef", "7a2a"),  # Lenovo tablet
        usb_device("1234", "5678", ":080650:ff4201:"),  # unknown vendor with an adb interface
        usb_device("1234", "5678", ":ff4203:"),  # unknown vendor in fastboot
    ],
)
def test_android_rule_gives_the_seat_user_access(device: Device) -> None:
    outcome = rules_outcome(RULES[1], device)
    assert outcome.assigned == {"MODE": "0660", "GROUP": "plugdev"}
    assert outcome.tags == {"uaccess"}


@pytest.mark.parametrize(
    "device",
    [
        usb_device("1234", "5678", ":080650:"),  # a USB stick
        usb_device("05ac", "12ab", ":ff42fe:"),  # an iPad is not an Android device
        usb_device("04e8", "6860", action="remove"),
    ],
)
def test_android_rule_leaves_other_devices_alone(device: Device) -> None:
    assert rules_outcome(RULES[1], device) == Outcome()


def test_rule_reader_rejects_what_udev_would() -> None:
    with pytest.raises(AssertionError):
        parse_rules('ATTR{idVendor}=="05ac", MODE="0660" GROUP="plugdev"')  # missing comma
    with pytest.raises(AssertionError):
        parse_rules('ATTRS{idVendor}="05ac"')  # a match key used with "="
