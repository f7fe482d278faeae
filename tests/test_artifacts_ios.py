"""Readers for .ipa and .mobileconfig files, and the generators the virtual cart uses."""

from __future__ import annotations

import hashlib
import plistlib
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from station.artifacts.ipa import read_ipa
from station.artifacts.mobileconfig import (
    BAD_TYPE,
    DUPLICATE_UUID,
    MISSING_FIELD,
    UNSUPPORTED_VERSION,
    ProfileError,
    parse_signed_data,
    read_mobileconfig,
)
from station.errors import ArtifactError
from station.sim.artifacts.ios import (
    make_ipa,
    make_mdm_enrollment_profile,
    make_supervision_identity,
    make_wifi_profile,
    sign_profile,
)
from station.sim.ios.mcinstall import SignatureError, verify_cms

# --- .ipa ---------------------------------------------------------------------------------


def test_generated_ipa_reads_back(tmp_path: Path) -> None:
    path = make_ipa(tmp_path / "Maths.ipa", "org.school.maths", "120", "2.1", "Maths Fun", 50_000)
    info = read_ipa(path)
    assert (info.bundle_id, info.version, info.short_version) == ("org.school.maths", "120", "2.1")
    assert info.name == "Maths Fun"
    assert info.minimum_os == "15.0"
    assert info.size == path.stat().st_size
    assert info.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert info.installed_size >= 50_000
    assert info.has_executable
    with zipfile.ZipFile(path) as archive:
        raw = archive.read("Payload/Maths Fun.app/Info.plist")
    assert raw.startswith(b"bplist00")


def test_xml_info_plist_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "Xml.ipa"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(
            "Payload/Xml.app/Info.plist",
            plistlib.dumps({"CFBundleIdentifier": "org.xml", "CFBundleVersion": "3"}),
        )
    info = read_ipa(path)
    assert (info.bundle_id, info.version, info.short_version, info.name) == (
        "org.xml",
        "3",
        "3",
        "Xml",
    )
    assert not info.has_executable


def _zip(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return path


@pytest.mark.parametrize(
    ("entries", "problem"),
    [
        (None, "not a zip"),
        ({"readme.txt": b"hi"}, "no Payload"),
        ({"Payload/A.app/A": b"bin"}, "no Payload/<Name>.app/Info.plist"),
        ({"Payload/A.app/Info.plist": b"garbage"}, "not a property list"),
        ({"Payload/A.app/Info.plist": plistlib.dumps([1])}, "not a dictionary"),
        ({"Payload/A.app/Info.plist": plistlib.dumps({"CFBundleName": "A"})}, "CFBundleIdentifier"),
        ({"Payload/A.app/Info.plist": bytes(6 * 1024 * 1024)}, "Info.plist"),
        (
            {
                "Payload/A.app/Info.plist": plistlib.dumps({"CFBundleIdentifier": "a"}),
                "Payload/A.app/bomb": bytes(20 * 1024 * 1024),
            },
            "zip bomb",
        ),
    ],
)
def test_bad_ipas_name_the_file_and_the_problem(
    tmp_path: Path, entries: dict[str, bytes] | None, problem: str
) -> None:
    path = tmp_path / "bad.ipa"
    if entries is None:
        path.write_bytes(b"not a zip at all")
    else:
        _zip(path, entries)
    with pytest.raises(ArtifactError) as caught:
        read_ipa(path)
    assert str(path) in str(caught.value)
    assert problem in caught.value.problem


def test_missing_ipa(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="file not found"):
        read_ipa(tmp_path / "nope.ipa")


# --- .mobileconfig ------------------------------------------------------------------------


def test_wifi_profile_xml_and_binary() -> None:
    data = make_wifi_profile("School", "{{password}}", identifier="org.school.wifi")
    for blob in (data, plistlib.dumps(plistlib.loads(data), fmt=plistlib.FMT_BINARY)):
        info = read_mobileconfig(blob, source="wifi.mobileconfig")
        assert info.identifier == "org.school.wifi"
        assert info.version == 1
        assert not info.signed
        assert [p.type for p in info.payloads] == ["com.apple.wifi.managed"]
        assert info.payloads[0].identifier == "org.school.wifi.wifi"


def test_leading_whitespace_is_tolerated() -> None:
    """go-ios sends its restrictions profile with a newline before ``<?xml``."""
    data = b"\n\t" + make_wifi_profile("School", identifier="org.ws")
    assert read_mobileconfig(data, source="ws").identifier == "org.ws"


def test_mdm_profile_is_valid() -> None:
    data = make_mdm_enrollment_profile(
        "https://mdm.example/mdm", "com.apple.mgmt.External.abc", "org.school.mdm"
    )
    info = read_mobileconfig(data, source="mdm")
    assert info.has_payload("com.apple.mdm")
    assert {p.type for p in info.payloads} == {"com.apple.mdm", "com.apple.security.pkcs12"}


def test_signed_profile_content_is_extracted() -> None:
    cert, key, _ = make_supervision_identity("Signer")
    data = make_wifi_profile("School", identifier="org.signed")
    signed = sign_profile(data, cert, key)
    info = read_mobileconfig(signed, source="signed.mobileconfig")
    assert info.signed
    assert info.identifier == "org.signed"
    content, signer = verify_cms(signed)
    assert content == data
    assert signer == cert
    parsed = parse_signed_data(signed)
    assert parsed.content == data
    assert len(parsed.certificates) == 1


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_openssl_ber_signed_profile(tmp_path: Path) -> None:
    """``openssl smime -outform der`` writes BER with indefinite lengths, as many tools do."""
    cert, key, _ = make_supervision_identity("Signer")
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    data = make_wifi_profile("School", identifier="org.openssl")
    (tmp_path / "p.mobileconfig").write_bytes(data)
    subprocess.run(
        [
            "openssl", "smime", "-sign", "-nodetach", "-binary", "-outform", "der",
            "-signer", str(tmp_path / "cert.pem"), "-inkey", str(tmp_path / "key.pem"),
            "-in", str(tmp_path / "p.mobileconfig"), "-out", str(tmp_path / "p.signed"),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    signed = (tmp_path / "p.signed").read_bytes()
    assert read_mobileconfig(signed, source="p.signed").identifier == "org.openssl"
    assert verify_cms(signed)[0] == data


def test_tampered_signature_does_not_verify() -> None:
    cert, key, _ = make_supervision_identity("Signer")
    signed = bytearray(sign_profile(b"challenge-bytes", cert, key))
    signed[-5] ^= 0xFF  # inside the signature value
    with pytest.raises(SignatureError):
        verify_cms(bytes(signed))
    other, _, _ = make_supervision_identity("Other")
    with pytest.raises(SignatureError, match="no certificate matches"):
        verify_cms(_strip_certs(cert, key), certificate=other)


def _strip_certs(cert: object, key: object) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.serialization import pkcs7

    return (
        pkcs7.PKCS7SignatureBuilder()
        .set_data(b"x")
        .add_signer(cert, key, hashes.SHA256())  # type: ignore[arg-type]
        .sign(
            serialization.Encoding.DER,
            [pkcs7.PKCS7Options.Binary, pkcs7.PKCS7Options.NoCerts],
        )
    )


def _profile(**changes: object) -> bytes:
    top = plistlib.loads(make_wifi_profile("S", identifier="org.p"))
    for key, value in changes.items():
        if value is None:
            top.pop(key, None)
        else:
            top[key] = value
    return plistlib.dumps(top)


@pytest.mark.parametrize(
    ("data", "code", "problem"),
    [
        (_profile(PayloadUUID=None), MISSING_FIELD, "PayloadUUID"),
        (_profile(PayloadIdentifier=None), MISSING_FIELD, "PayloadIdentifier"),
        (_profile(PayloadVersion=2), UNSUPPORTED_VERSION, "PayloadVersion"),
        (_profile(PayloadVersion="1"), BAD_TYPE, "PayloadVersion"),
        (_profile(PayloadType="com.apple.wifi.managed"), BAD_TYPE, "Configuration"),
        (_profile(PayloadContent=None), MISSING_FIELD, "PayloadContent"),
        (_profile(PayloadContent={"a": 1}), BAD_TYPE, "PayloadContent"),
        (_profile(PayloadContent=[{"PayloadType": "x"}]), MISSING_FIELD, "payload #1"),
        (
            _profile(
                PayloadContent=[
                    {
                        "PayloadType": "a",
                        "PayloadIdentifier": "i1",
                        "PayloadUUID": "U",
                        "PayloadVersion": 1,
                    },
                    {
                        "PayloadType": "b",
                        "PayloadIdentifier": "i2",
                        "PayloadUUID": "U",
                        "PayloadVersion": 1,
                    },
                ]
            ),
            DUPLICATE_UUID,
            "reuses UUID",
        ),
    ],
)
def test_invalid_profiles(data: bytes, code: int, problem: str) -> None:
    with pytest.raises(ProfileError) as caught:
        read_mobileconfig(data, source="bad.mobileconfig")
    assert caught.value.code == code
    assert problem in caught.value.problem
    assert "bad.mobileconfig" in str(caught.value)


@pytest.mark.parametrize(
    "data",
    [b"", b"   ", b"garbage", b"\x30\x03\x02\x01\x01", b"<?xml version='1.0'?><plist><dict>"],
)
def test_garbage_profiles(data: bytes) -> None:
    with pytest.raises(ArtifactError):
        read_mobileconfig(data, source="junk")


def test_mdm_profile_without_identity_is_refused() -> None:
    top = plistlib.loads(
        make_mdm_enrollment_profile("https://m.example/", "com.apple.mgmt.x", "org.mdm")
    )
    del top["PayloadContent"][0]  # the identity payload
    with pytest.raises(ProfileError, match="IdentityCertificateUUID"):
        read_mobileconfig(plistlib.dumps(top), source="mdm")


# --- hostile files ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def valid_ipa_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("ipa") / "v.ipa"
    return make_ipa(path, "org.fuzz", "1", "1.0", "Fuzz", 2000).read_bytes()


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_mangled_ipas_only_raise_artifact_error(
    valid_ipa_bytes: bytes, tmp_path: Path, data: st.DataObject
) -> None:
    blob = bytearray(valid_ipa_bytes)
    for _ in range(data.draw(st.integers(1, 8))):
        spot = data.draw(st.integers(0, len(blob) - 1))
        blob[spot] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(blob)))
    path = tmp_path / "m.ipa"
    path.write_bytes(bytes(blob[:cut] if data.draw(st.booleans()) else blob))
    message = ""
    try:
        info = read_ipa(path)
    except ArtifactError as exc:
        message = str(exc)
    else:
        assert info.bundle_id
    assert not message or str(path) in message


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_mangled_signed_profiles_only_raise_profile_error(data: st.DataObject) -> None:
    blob = bytearray(_SIGNED)
    for _ in range(data.draw(st.integers(1, 6))):
        spot = data.draw(st.integers(0, len(blob) - 1))
        blob[spot] = data.draw(st.integers(0, 255))
    blob = blob[: data.draw(st.integers(1, len(blob)))]
    try:
        read_mobileconfig(bytes(blob), source="m")
    except ArtifactError:
        pass
    try:
        verify_cms(bytes(blob))
    except SignatureError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_are_not_profiles(blob: bytes) -> None:
    with pytest.raises(ArtifactError):
        read_mobileconfig(b"\x30" + blob, source="r")


_CERT, _KEY, _ = make_supervision_identity("Fuzz")
_SIGNED = sign_profile(make_wifi_profile("F", identifier="org.fuzz"), _CERT, _KEY)


def test_an_ipa_needing_a_newer_unzip_is_an_artifact_error(
    valid_ipa_bytes: bytes, tmp_path: Path
) -> None:
    # Found by the fuzz test above: zipfile raises NotImplementedError("zip file version 6.4")
    # when an entry's "version needed to extract" is beyond what it supports.
    blob = bytearray(valid_ipa_bytes)
    central = blob.index(b"PK\x01\x02")
    blob[central + 6 : central + 8] = (64).to_bytes(2, "little")
    path = tmp_path / "new.ipa"
    path.write_bytes(bytes(blob))
    with pytest.raises(ArtifactError, match=r"zip file version 6\.4") as caught:
        read_ipa(path)
    assert str(path) in str(caught.value)
