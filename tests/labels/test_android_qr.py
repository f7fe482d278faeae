"""The Android Enterprise provisioning QR: AOSP keys, the APK checksum, and the QR read back."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from station.artifacts.apk import read_apk
from station.blueprint import AndroidPlan, AppRef
from station.errors import ArtifactError, InputError
from station.labels.android_qr import (
    payload_for_plan,
    provisioning_json,
    provisioning_payload,
    provisioning_qr_png,
)
from station.sim.artifacts.android import SigningIdentity, make_apk

PACKAGE = "de.kreissegeberg.schulit.mdm"
COMPONENT = f"{PACKAGE}/.AdminReceiver"
URL = "https://mdm.kreis-segeberg.example/dpc/mdm-agent.apk"


@pytest.fixture(scope="module")
def signer() -> SigningIdentity:
    return SigningIdentity.new()


@pytest.fixture
def apk(tmp_path: Path, signer: SigningIdentity) -> Path:
    return make_apk(
        tmp_path / "mdm-agent.apk",
        PACKAGE,
        7,
        "1.7",
        "MDM-Agent",
        receiver=".AdminReceiver",
        signer=signer,
    )


def _decode_png(png: bytes) -> str:
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert len(results) == 1
    assert results[0].format == zxingcpp.BarcodeFormat.QRCode
    return results[0].text


def test_payload_uses_the_aosp_keys_and_the_apk_checksum(apk: Path) -> None:
    payload = provisioning_payload(
        COMPONENT,
        apk,
        URL,
        wifi_ssid="Schule-Geräte",
        wifi_security="wpa",
        wifi_password="geheim-123",
        skip_encryption=True,
        leave_all_system_apps_enabled=True,
        admin_extras={"com.hmdm.BASE_URL": "https://mdm.example", "group": {"id": 4}},
    )
    expected_checksum = (
        base64.urlsafe_b64encode(hashlib.sha256(apk.read_bytes()).digest()).decode().rstrip("=")
    )
    # The key strings are DevicePolicyManager's EXTRA_PROVISIONING_* constant values.
    assert payload == {
        "android.app.extra.PROVISIONING_DEVICE_ADMIN_COMPONENT_NAME": COMPONENT,
        "android.app.extra.PROVISIONING_DEVICE_ADMIN_PACKAGE_DOWNLOAD_LOCATION": URL,
        "android.app.extra.PROVISIONING_DEVICE_ADMIN_PACKAGE_CHECKSUM": expected_checksum,
        "android.app.extra.PROVISIONING_WIFI_SSID": "Schule-Geräte",
        "android.app.extra.PROVISIONING_WIFI_SECURITY_TYPE": "WPA",
        "android.app.extra.PROVISIONING_WIFI_PASSWORD": "geheim-123",
        "android.app.extra.PROVISIONING_SKIP_ENCRYPTION": True,
        "android.app.extra.PROVISIONING_LEAVE_ALL_SYSTEM_APPS_ENABLED": True,
        "android.app.extra.PROVISIONING_ADMIN_EXTRAS_BUNDLE": {
            "com.hmdm.BASE_URL": "https://mdm.example",
            "group": {"id": 4},
        },
    }
    assert len(expected_checksum) == 43
    assert "=" not in expected_checksum
    assert "+" not in expected_checksum
    assert "/" not in expected_checksum


def test_qr_decodes_back_to_the_same_json(apk: Path) -> None:
    payload = provisioning_payload(
        COMPONENT,
        apk,
        URL,
        wifi_ssid="Schule-Geräte",
        wifi_password="pw",
        time_zone="Europe/Berlin",
    )
    text = _decode_png(provisioning_qr_png(payload))
    assert text == provisioning_json(payload)
    assert json.loads(text) == payload
    assert text.isascii()  # umlauts as \\u escapes: every setup-wizard reader parses them


def test_signature_checksum_instead_of_the_file_hash(apk: Path, signer: SigningIdentity) -> None:
    payload = provisioning_payload(COMPONENT, apk, URL, signature_checksum=True)
    cert = read_apk(apk).signing_cert_sha256
    assert cert == signer.cert_sha256
    expected = base64.urlsafe_b64encode(bytes.fromhex(cert)).decode().rstrip("=")
    assert payload["android.app.extra.PROVISIONING_DEVICE_ADMIN_SIGNATURE_CHECKSUM"] == expected
    assert "android.app.extra.PROVISIONING_DEVICE_ADMIN_PACKAGE_CHECKSUM" not in payload


def test_component_of_another_package_is_refused(apk: Path) -> None:
    with pytest.raises(InputError) as info:
        provisioning_payload("com.example.other/.Admin", apk, URL)
    assert "package com.example.other is not the APK's (mdm-agent.apk is " + PACKAGE in str(
        info.value
    )


@pytest.mark.parametrize("component", ["AdminReceiver", f"{PACKAGE}/", "/.Admin", "a/.B C"])
def test_malformed_component_is_refused(apk: Path, component: str) -> None:
    with pytest.raises(InputError, match="is not a component name"):
        provisioning_payload(component, apk, URL)


def test_not_an_apk_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "fake.apk"
    with zipfile.ZipFile(fake, "w") as zf:
        zf.writestr("classes.dex", b"dex\n035\0")
    with pytest.raises(ArtifactError, match=r"no AndroidManifest\.xml"):
        provisioning_payload(COMPONENT, fake, URL)


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"wifi_ssid": "S", "wifi_security": "WPA3"}, "not one Android knows"),
        ({"wifi_ssid": "S", "wifi_security": "WPA"}, "needs a password"),
        ({"wifi_ssid": "S", "wifi_security": "NONE", "wifi_password": "x"}, "open network"),
        ({"wifi_password": "x"}, "without an SSID"),
        ({"admin_extras": {"k": [1, 2]}}, "cannot go into a PersistableBundle"),
    ],
)
def test_bad_wifi_and_extras_are_refused(
    apk: Path, kwargs: dict[str, object], problem: str
) -> None:
    with pytest.raises(InputError, match=problem):
        provisioning_payload(COMPONENT, apk, URL, **kwargs)  # type: ignore[arg-type]


def test_download_url_must_be_http(apk: Path) -> None:
    with pytest.raises(InputError, match="not an http"):
        provisioning_payload(COMPONENT, apk, "ftp://x/y.apk")


def test_open_network_needs_no_password(apk: Path) -> None:
    payload = provisioning_payload(COMPONENT, apk, URL, wifi_ssid="Gast", wifi_hidden=True)
    assert payload["android.app.extra.PROVISIONING_WIFI_SECURITY_TYPE"] == "NONE"
    assert payload["android.app.extra.PROVISIONING_WIFI_HIDDEN"] is True
    assert "android.app.extra.PROVISIONING_WIFI_PASSWORD" not in payload


def test_payload_from_a_blueprints_android_plan(apk: Path, tmp_path: Path) -> None:
    other = make_apk(tmp_path / "lern.apk", "de.example.lernapp", 1, "1.0", "Lernapp")
    plan = AndroidPlan(
        apps=(AppRef(other, read_apk(other)), AppRef(apk, read_apk(apk))), device_owner=COMPONENT
    )
    payload = payload_for_plan(plan, URL)
    assert payload["android.app.extra.PROVISIONING_DEVICE_ADMIN_COMPONENT_NAME"] == COMPONENT
    with pytest.raises(InputError, match=r"names no android\.device_owner"):
        payload_for_plan(AndroidPlan(), URL)
