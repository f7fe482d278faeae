"""APK generator and reader: Google's own tools accept what we write, hostile files fail cleanly."""

from __future__ import annotations

import base64
import hashlib
import shutil
import struct
import subprocess
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from station.artifacts.apk import read_apk
from station.errors import ArtifactError
from station.sim.artifacts.android import SigningIdentity, encode_axml, make_apk, manifest_element

AAPT = shutil.which("aapt")
APKSIGNER = shutil.which("apksigner")
JARSIGNER = shutil.which("jarsigner")


@pytest.fixture(scope="module")
def signer() -> SigningIdentity:
    return SigningIdentity.new()


@pytest.fixture
def dpc(tmp_path: Path, signer: SigningIdentity) -> Path:
    return make_apk(
        tmp_path / "dpc.apk",
        "com.hmdm.launcher",
        5170,
        "5.17",
        "Headwind MDM",
        min_sdk=26,
        target_sdk=33,
        receiver=".AdminReceiver",
        signer=signer,
        padding_bytes=1_500_000,
    )


def test_read_apk_round_trip(dpc: Path, signer: SigningIdentity) -> None:
    info = read_apk(dpc)
    assert (info.package, info.version_code, info.version_name) == (
        "com.hmdm.launcher",
        5170,
        "5.17",
    )
    assert (info.min_sdk, info.target_sdk, info.label) == (26, 33, "Headwind MDM")
    assert info.size == dpc.stat().st_size
    assert info.sha256 == hashlib.sha256(dpc.read_bytes()).hexdigest()
    assert info.signing_cert_sha256 == signer.cert_sha256
    # The QR code's signature checksum is derived from it.
    checksum = base64.urlsafe_b64encode(bytes.fromhex(signer.cert_sha256)).decode().rstrip("=")
    assert len(checksum) == 43


def test_v1_only_apk_still_names_its_signer(tmp_path: Path, signer: SigningIdentity) -> None:
    apk = make_apk(tmp_path / "v1.apk", "org.example.v1", 1, "1", "V1", signer=signer, v2=False)
    assert read_apk(apk).signing_cert_sha256 == signer.cert_sha256


@pytest.mark.skipif(AAPT is None, reason="aapt (Debian package aapt) not installed")
def test_aapt_dump_badging_accepts_the_binary_manifest(dpc: Path) -> None:
    assert AAPT is not None
    out = subprocess.run(
        [AAPT, "dump", "badging", str(dpc)], capture_output=True, text=True, check=True
    ).stdout
    lines = out.splitlines()
    assert lines[0] == "package: name='com.hmdm.launcher' versionCode='5170' versionName='5.17'"
    assert "sdkVersion:'26'" in lines
    assert "targetSdkVersion:'33'" in lines
    assert "provides-component:'device-admin'" in lines
    tree = subprocess.run(
        [AAPT, "dump", "xmltree", str(dpc), "AndroidManifest.xml"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert 'android:permission(0x01010006)="android.permission.BIND_DEVICE_ADMIN"' in tree
    assert 'android:name(0x01010003)="com.hmdm.launcher.AdminReceiver"' in tree


@pytest.mark.skipif(APKSIGNER is None, reason="apksigner (Debian package apksigner) not installed")
def test_apksigner_verifies_v1_and_v2_and_agrees_on_the_cert(
    dpc: Path, signer: SigningIdentity
) -> None:
    assert APKSIGNER is not None
    out = subprocess.run(
        [APKSIGNER, "verify", "-v", "--print-certs", "--min-sdk-version", "21", str(dpc)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "Verified using v1 scheme (JAR signing): true" in out
    assert "Verified using v2 scheme (APK Signature Scheme v2): true" in out
    assert f"Signer #1 certificate SHA-256 digest: {signer.cert_sha256}" in out


@pytest.mark.skipif(JARSIGNER is None, reason="jarsigner not installed")
def test_jarsigner_verifies_the_v1_signature(dpc: Path) -> None:
    assert JARSIGNER is not None
    out = subprocess.run(
        [JARSIGNER, "-verify", str(dpc)], capture_output=True, text=True, check=True
    ).stdout
    assert "jar verified." in out


def _zip_with(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


@pytest.mark.parametrize(
    ("entries", "problem"),
    [
        ({"classes.dex": b"dex"}, "no AndroidManifest.xml"),
        ({"AndroidManifest.xml": b'<?xml version="1.0"?><manifest/>'}, "not binary XML"),
        ({"AndroidManifest.xml": b"\x03\x00\x08\x00\xff\xff\xff\x7f" + b"\x01" * 40}, "chunk"),
        ({"AndroidManifest.xml": bytes(20_000_000)}, "implausibly large"),
    ],
)
def test_hostile_archives_raise_artifact_error(
    tmp_path: Path, entries: dict[str, bytes], problem: str
) -> None:
    apk = _zip_with(tmp_path / "bad.apk", entries)
    with pytest.raises(ArtifactError, match=problem) as err:
        read_apk(apk)
    assert err.value.path == str(apk)


def test_not_a_zip_and_missing_file(tmp_path: Path) -> None:
    junk = tmp_path / "junk.apk"
    junk.write_bytes(b"PK\x03\x04" + bytes(100))
    with pytest.raises(ArtifactError, match="not a zip archive"):
        read_apk(junk)
    with pytest.raises(ArtifactError, match="file not found"):
        read_apk(tmp_path / "missing.apk")


def test_manifest_without_package_is_refused(tmp_path: Path) -> None:
    el = manifest_element("p", 1, "1", "L", min_sdk=21, target_sdk=30, receiver=None)
    axml = encode_axml(el).replace("package".encode("utf-16-le"), "pakkage".encode("utf-16-le"))
    apk = _zip_with(tmp_path / "nopkg.apk", {"AndroidManifest.xml": axml})
    with pytest.raises(ArtifactError, match="no package attribute"):
        read_apk(apk)


_MANIFEST = encode_axml(
    manifest_element("org.example.fuzz", 9, "9.0", "Fuzz", min_sdk=21, target_sdk=30, receiver=".R")
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    edits=st.lists(
        st.tuples(st.integers(0, len(_MANIFEST) - 1), st.integers(0, 255)), min_size=1, max_size=8
    ),
    cut=st.integers(8, len(_MANIFEST)),
)
def test_mutated_manifests_never_crash_the_reader(
    tmp_path: Path, edits: list[tuple[int, int]], cut: int
) -> None:
    data = bytearray(_MANIFEST)
    for pos, value in edits:
        data[pos] = value
    apk = _zip_with(tmp_path / "fuzz.apk", {"AndroidManifest.xml": bytes(data[:cut])})
    problem = ""
    try:
        info = read_apk(apk)
    except ArtifactError as exc:
        problem = str(exc)
    if problem:
        assert problem.startswith(f"{apk}: ")
    else:
        assert info.package


def test_large_padding_is_streamed(tmp_path: Path) -> None:
    apk = make_apk(tmp_path / "big.apk", "org.example.big", 1, "1", "Big", padding_bytes=20_000_000)
    with zipfile.ZipFile(apk) as zf:
        assert zf.getinfo("assets/padding.bin").file_size == 20_000_000
    assert read_apk(apk).size > 20_000_000


@pytest.mark.parametrize("utf8", [False, True])
def test_utf8_and_utf16_string_pools(tmp_path: Path, utf8: bool) -> None:
    label = "Schul-App für Ümlaute " + "x" * 200  # long enough for two-byte lengths
    el = manifest_element(
        "org.example.pool", 3, "3.0", label, min_sdk=21, target_sdk=29, receiver=None
    )
    apk = _zip_with(tmp_path / "pool.apk", {"AndroidManifest.xml": encode_axml(el, utf8=utf8)})
    info = read_apk(apk)
    assert (info.package, info.version_name, info.label) == ("org.example.pool", "3.0", label)
    if AAPT is not None:
        tree = subprocess.run(
            [AAPT, "dump", "xmltree", str(apk), "AndroidManifest.xml"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert f'android:label(0x01010001)="{label}"' in tree


def test_string_pool_pointing_everywhere_at_one_long_string(tmp_path: Path) -> None:
    # 200k offsets, all at one 60k-char string: decoding them all would need ~24 GB.
    count, text = 200_000, "A" * 60_000
    offsets = b"\0\0\0\0" * count
    data = struct.pack("<H", 0x8000 | (len(text) >> 16)) + struct.pack("<H", len(text) & 0xFFFF)
    data += text.encode("utf-16-le") + b"\0\0"
    body = offsets + data
    pool = struct.pack("<HHIIIIII", 1, 28, 28 + len(body), count, 0, 0, 28 + 4 * count, 0) + body
    axml = struct.pack("<HHI", 3, 8, 8 + len(pool)) + pool
    apk = _zip_with(tmp_path / "pool.apk", {"AndroidManifest.xml": axml})
    with pytest.raises(ArtifactError, match="implausibly much text"):
        read_apk(apk)


def test_an_apk_needing_a_newer_unzip_is_an_artifact_error(dpc: Path, tmp_path: Path) -> None:
    blob = bytearray(dpc.read_bytes())
    central = blob.index(b"PK\x01\x02")
    blob[central + 6 : central + 8] = (64).to_bytes(2, "little")
    path = tmp_path / "new.apk"
    path.write_bytes(bytes(blob))
    with pytest.raises(ArtifactError) as caught:
        read_apk(path)
    assert str(path) in str(caught.value)
