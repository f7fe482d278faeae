"""Build the station for Linux: a PyInstaller onedir bundle, then a .deb around it.

    .venv/bin/python installer/build_linux.py           # build/installer/{dist/station/,*.deb}
    .venv/bin/python installer/build_linux.py --no-deb --out /tmp/b
    .venv/bin/python installer/build_linux.py --reuse   # skip PyInstaller if sources unchanged

Needs: the project's venv with the ``installer`` extra (PyInstaller), binutils (objdump, for
PyInstaller) and dpkg-deb. See installer/README.md.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SPEC = HERE / "station.spec"
DEB_DIR = HERE / "deb"
PACKAGE = "enrollment-station"
INSTALL_DIR = "/opt/enrollment-station"
UDEV_DIR = "lib/udev/rules.d"
UDEV_RULES = ("39-enrollment-station-apple.rules", "51-enrollment-station-android.rules")
DESKTOP_FILE = "enrollment-station.desktop"
MAINTAINER = "Enrollment Station developers <enrollment-station@users.noreply.github.com>"
HOMEPAGE = "https://github.com/enrollment-station/enrollment-station"
DIGEST_FILE = ".source-digest"

# Runtime packages every bundle needs on the target (glibc is added with the version it needs).
BASE_DEPENDS = ["usbmuxd", "libusb-1.0-0"]
# Libraries PyInstaller leaves to the system for Qt (OpenGL/EGL, Wayland, xcb bits it excludes).
QT_DEPENDS = [
    "libgl1",
    "libegl1",
    "libxcb1",
    "libxcb-icccm4",
    "libxcb-keysyms1",
    "libwayland-client0",
    "libwayland-cursor0",
    "libwayland-egl1",
    "libdrm2",
]
# What decides the bundle's contents: a change here means the bundle must be built again.
SOURCES = ("station", "resources", "installer", "pyproject.toml")


def log(message: str) -> None:
    sys.stderr.write(f"build_linux: {message}\n")
    sys.stderr.flush()


def source_digest() -> str:
    """A hash of the sources, the installed distributions and the build options."""
    digest = hashlib.sha256()
    for top in SOURCES:
        base = ROOT / top
        files = [base] if base.is_file() else sorted(p for p in base.rglob("*") if p.is_file())
        for path in files:
            if "__pycache__" in path.parts or path.suffix in (".pyc", ".tmp"):
                continue
            digest.update(str(path.relative_to(ROOT)).encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    installed = sorted(
        f"{dist.metadata['Name']}=={dist.version}" for dist in importlib.metadata.distributions()
    )
    digest.update("\n".join(installed).encode())
    digest.update(f"python={sys.version}".encode())
    return digest.hexdigest()


def build_bundle(out: Path, *, reuse: bool = False) -> Path:
    """Run PyInstaller on station.spec; returns the onedir folder (``out/dist/station``)."""
    dist, work = out / "dist", out / "work"
    bundle = dist / "station"
    digest = source_digest()
    marker = out / DIGEST_FILE
    reusable = reuse and (bundle / "station").is_file() and marker.is_file()
    if reusable and marker.read_text().strip() == digest:
        log(f"sources unchanged, reusing {bundle}")
        return bundle
    marker.unlink(missing_ok=True)
    command = [sys.executable, "-m", "PyInstaller", "--noconfirm", "--clean", "--log-level=WARN"]
    command += ["--distpath", str(dist), "--workpath", str(work), str(SPEC)]
    log("running " + " ".join(command))
    started = time.monotonic()
    subprocess.run(command, check=True, cwd=ROOT)
    log(f"bundle built in {time.monotonic() - started:.0f} s: {bundle} ({_size_mb(bundle)} MB)")
    marker.write_text(digest + "\n")
    return bundle


def _size_mb(path: Path) -> int:
    total = sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())
    return round(total / 1e6)


def check_bundle(bundle: Path) -> str:
    """Run ``station --version`` from the bundle with nothing on PATH; returns its output."""
    with tempfile.TemporaryDirectory(prefix="station-check-") as tmp:
        env = {"PATH": tmp, "HOME": tmp, "LANG": "C.UTF-8"}
        result = subprocess.run(
            [str(bundle / "station"), "--version"],
            cwd=tmp,
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
    return result.stdout.strip()


def _is_elf(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(4) == b"\x7fELF"


def glibc_needed(bundle: Path) -> str:
    """The newest GLIBC_x.y symbol version any file in the bundle needs (for Depends: libc6)."""
    newest = (2, 17)
    pattern = re.compile(rb"GLIBC_2\.(\d+)(?:\.(\d+))?\x00")
    for path in bundle.rglob("*"):
        if not path.is_file() or path.is_symlink() or not _is_elf(path):
            continue
        for match in pattern.finditer(path.read_bytes()):
            version = (2, int(match.group(1)))
            newest = max(newest, version)
    return f"{newest[0]}.{newest[1]}"


def deb_architecture() -> str:
    result = subprocess.run(
        ["dpkg", "--print-architecture"], capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def depends(bundle: Path) -> list[str]:
    """Depends: the station's device services, glibc and (with the window) Qt's system libraries."""
    found = [*BASE_DEPENDS, f"libc6 (>= {glibc_needed(bundle)})"]
    if (bundle / "_internal" / "PySide6").is_dir():
        found += QT_DEPENDS
    return found


def _version() -> str:
    text = (ROOT / "station" / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r'^__version__ = "([^"]+)"', text, re.MULTILINE)
    if match is None:
        raise SystemExit("cannot find __version__ in station/__init__.py")
    return match.group(1)


def _write_icons(share: Path) -> None:
    sys.path.insert(0, str(HERE))
    try:
        import icon  # installer/icon.py, drawn with Pillow (a station dependency)
    finally:
        sys.path.remove(str(HERE))
    hicolor = share / "icons" / "hicolor"
    scalable = hicolor / "scalable" / "apps" / f"{PACKAGE}.svg"
    scalable.parent.mkdir(parents=True)
    shutil.copyfile(DEB_DIR / f"{PACKAGE}.svg", scalable)
    for size in (48, 128, 256):
        icon.write_png(hicolor / f"{size}x{size}" / "apps" / f"{PACKAGE}.png", size)


def _normalise_modes(root: Path) -> None:
    """Files 0644 (0755 if executable), folders 0755: what dpkg expects, whatever the umask."""
    for path in [root, *root.rglob("*")]:
        if path.is_symlink():
            continue
        if path.is_dir():
            path.chmod(0o755)
        else:
            executable = path.stat().st_mode & 0o111
            path.chmod(0o755 if executable else 0o644)


def build_deb(bundle: Path, out: Path, *, compression: str = "zstd") -> Path:
    """Wrap the onedir bundle into ``enrollment-station_<version>_<arch>.deb`` in ``out``."""
    version, arch = _version(), deb_architecture()
    target = out / f"{PACKAGE}_{version}_{arch}.deb"
    with tempfile.TemporaryDirectory(prefix="station-deb-", dir=out) as tmp:
        root = Path(tmp) / "root"
        opt = root / INSTALL_DIR.lstrip("/")
        shutil.copytree(bundle, opt, symlinks=True)
        (root / "usr" / "bin").mkdir(parents=True)
        (root / "usr" / "bin" / "station").symlink_to(f"{INSTALL_DIR}/station")
        rules = root / UDEV_DIR
        rules.mkdir(parents=True)
        for name in UDEV_RULES:
            shutil.copyfile(DEB_DIR / name, rules / name)
        share = root / "usr" / "share"
        (share / "applications").mkdir(parents=True)
        shutil.copyfile(DEB_DIR / DESKTOP_FILE, share / "applications" / DESKTOP_FILE)
        _write_icons(share)
        doc = share / "doc" / PACKAGE
        doc.mkdir(parents=True)
        shutil.copyfile(DEB_DIR / "copyright", doc / "copyright")
        _normalise_modes(root)

        control_dir = root / "DEBIAN"
        control_dir.mkdir()
        installed_kib = sum(
            (p.stat().st_size + 1023) // 1024
            for p in root.rglob("*")
            if p.is_file() and not p.is_symlink()
        )
        fields = {
            "@VERSION@": version,
            "@ARCH@": arch,
            "@MAINTAINER@": os.environ.get("DEB_MAINTAINER", MAINTAINER),
            "@INSTALLED_SIZE@": str(installed_kib),
            "@DEPENDS@": ", ".join(depends(bundle)),
            "@HOMEPAGE@": HOMEPAGE,
        }
        control = (DEB_DIR / "control.in").read_text(encoding="utf-8")
        for key, value in fields.items():
            control = control.replace(key, value)
        (control_dir / "control").write_text(control, encoding="utf-8")
        for script in ("postinst", "postrm"):
            shutil.copyfile(DEB_DIR / script, control_dir / script)
            (control_dir / script).chmod(0o755)
        (control_dir / "control").chmod(0o644)

        started = time.monotonic()
        command = ["dpkg-deb", "--root-owner-group", f"-Z{compression}"]
        subprocess.run(
            [*command, "--build", str(root), str(target)], check=True, stdout=subprocess.DEVNULL
        )
    size = round(target.stat().st_size / 1e6)
    log(f".deb built in {time.monotonic() - started:.0f} s: {target} ({size} MB)")
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "installer")
    parser.add_argument("--no-deb", action="store_true", help="only the onedir bundle")
    parser.add_argument("--bundle", type=Path, default=None, help="package this built bundle")
    parser.add_argument(
        "--reuse", action="store_true", help="keep a bundle built from the same sources"
    )
    # zstd: seconds and the smallest of the fast ones; dpkg reads it since Debian 12 and Ubuntu
    # 18.04. gzip for older dpkg (takes ~1.5 min), xz is as small as zstd and takes minutes.
    parser.add_argument("--compression", choices=("zstd", "gzip", "xz", "none"), default="zstd")
    args = parser.parse_args(argv)
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    if args.bundle is not None:
        bundle = args.bundle.resolve()
    else:
        bundle = build_bundle(out, reuse=args.reuse)
    log(f"check: {check_bundle(bundle)}")
    if not args.no_deb:
        build_deb(bundle, out, compression=args.compression)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
