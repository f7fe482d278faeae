"""``[android.provisioning]`` in the blueprint: the enrollment QR read back, and its problems."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from station.app import DriverBackend
from station.blueprint import InvalidBlueprint, Issue, load_blueprint
from station.errors import InputError, SecretError
from station.labels.android_qr import (
    payload_for_blueprint,
    provisioning_json,
    provisioning_qr_png,
)
from station.secrets import SecretStore
from station.sim.artifacts.android import SigningIdentity, make_apk

PACKAGE = "de.kreissegeberg.schulit.mdm"
COMPONENT = f"{PACKAGE}/.AdminReceiver"
URL = "https://mdm.kreis-segeberg.example/dpc/mdm-agent.apk"
PASSWORD = "Tablets-im-Wagen-2026!"
HEAD = """\
name = "Testschule 2026/27"
school = { id = "SEG042", name = "Testschule", operator = "Amt Bornhöved" }
asset_tag = { prefix = "SEG042-", digits = 5 }

[android]
apps = ["mdm-agent.apk"]
device_owner = "de.kreissegeberg.schulit.mdm/.AdminReceiver"
"""
GOOD = (
    HEAD
    + f"""
[android.provisioning]
download_url = "{URL}"
wifi_ssid = "Schule-Tablets"
wifi_security = "WPA"
wifi_password_secret = "wlan-tablets"
wifi_hidden = true
skip_encryption = true
leave_all_system_apps_enabled = true
use_mobile_data = true
locale = "de_DE"
time_zone = "Europe/Berlin"

[android.provisioning.admin_extras]
"com.hmdm.BASE_URL" = "https://mdm.kreis-segeberg.example"
"com.hmdm.CONFIG" = "schule"
"""
)
_EXTRA = "android.app.extra.PROVISIONING_"


@pytest.fixture(scope="module")
def signer() -> SigningIdentity:
    return SigningIdentity.new()


@pytest.fixture
def folder(tmp_path: Path, signer: SigningIdentity) -> Path:
    folder = tmp_path / "blueprints"
    folder.mkdir()
    make_apk(
        folder / "mdm-agent.apk", PACKAGE, 7, "1.7", "MDM-Agent", receiver=".AdminReceiver",
        signer=signer,
    )  # fmt: skip
    return folder


@pytest.fixture
def secrets(tmp_path: Path) -> SecretStore:
    store = SecretStore(data_dir=tmp_path / "station", force_file=True)
    store.set("wlan-tablets", PASSWORD)
    return store


def _write(folder: Path, text: str, name: str = "schule.toml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _decode(png: bytes) -> object:
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert [r.format for r in found] == [zxingcpp.BarcodeFormat.QRCode]
    return json.loads(found[0].text)


def _issues(path: Path, secrets: SecretStore | None = None) -> list[Issue]:
    with pytest.raises(InvalidBlueprint) as info:
        load_blueprint(path, secrets=secrets)
    for issue in info.value.issues:
        assert issue.file == str(path)
    return list(info.value.issues)


def _line(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def _find(issues: list[Issue], key: str, words: str) -> Issue:
    matches = [i for i in issues if i.key == key and words in str(i)]
    assert matches, f"no issue for {key} with {words!r} in {[str(i) for i in issues]}"
    return matches[0]


def test_the_qr_carries_exactly_the_aosp_keys_from_the_blueprint(
    folder: Path, secrets: SecretStore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    path = _write(folder, GOOD)
    blueprint = load_blueprint(path, secrets=secrets)
    assert blueprint.android is not None
    assert "wlan-tablets" in blueprint.secret_names()
    payload = payload_for_blueprint(blueprint.android, secrets)
    decoded = _decode(provisioning_qr_png(payload))
    apk_sha = hashlib.sha256((folder / "mdm-agent.apk").read_bytes()).digest()
    assert decoded == {
        "android.app.extra.PROVISIONING_DEVICE_ADMIN_COMPONENT_NAME": COMPONENT,
        "android.app.extra.PROVISIONING_DEVICE_ADMIN_PACKAGE_DOWNLOAD_LOCATION": URL,
        "android.app.extra.PROVISIONING_DEVICE_ADMIN_PACKAGE_CHECKSUM": base64.urlsafe_b64encode(
            apk_sha
        )
        .decode()
        .rstrip("="),
        "android.app.extra.PROVISIONING_WIFI_SSID": "Schule-Tablets",
        "android.app.extra.PROVISIONING_WIFI_SECURITY_TYPE": "WPA",
        "android.app.extra.PROVISIONING_WIFI_PASSWORD": PASSWORD,
        "android.app.extra.PROVISIONING_WIFI_HIDDEN": True,
        "android.app.extra.PROVISIONING_SKIP_ENCRYPTION": True,
        "android.app.extra.PROVISIONING_LEAVE_ALL_SYSTEM_APPS_ENABLED": True,
        "android.app.extra.PROVISIONING_USE_MOBILE_DATA": True,
        "android.app.extra.PROVISIONING_LOCALE": "de_DE",
        "android.app.extra.PROVISIONING_TIME_ZONE": "Europe/Berlin",
        "android.app.extra.PROVISIONING_ADMIN_EXTRAS_BUNDLE": {
            "com.hmdm.BASE_URL": "https://mdm.kreis-segeberg.example",
            "com.hmdm.CONFIG": "schule",
        },
    }
    assert PASSWORD not in path.read_text(encoding="utf-8")
    assert PASSWORD not in caplog.text


def test_signature_checksum_and_an_open_network(folder: Path, signer: SigningIdentity) -> None:
    text = (
        HEAD
        + f"""
[android.provisioning]
download_url = "{URL}"
wifi_ssid = "Gast"
signature_checksum = true
"""
    )
    blueprint = load_blueprint(_write(folder, text))
    assert blueprint.android is not None
    payload = payload_for_blueprint(
        blueprint.android, SecretStore(data_dir=folder, force_file=True)
    )
    cert = bytes.fromhex(signer.cert_sha256)
    assert payload == {
        _EXTRA + "DEVICE_ADMIN_COMPONENT_NAME": COMPONENT,
        _EXTRA + "DEVICE_ADMIN_PACKAGE_DOWNLOAD_LOCATION": URL,
        _EXTRA + "DEVICE_ADMIN_SIGNATURE_CHECKSUM": base64.urlsafe_b64encode(cert)
        .decode()
        .rstrip("="),
        _EXTRA + "WIFI_SSID": "Gast",
        _EXTRA + "WIFI_SECURITY_TYPE": "NONE",
    }


def test_without_the_table_the_window_says_what_to_add(folder: Path) -> None:
    blueprint = load_blueprint(_write(folder, HEAD))
    assert blueprint.android is not None
    assert blueprint.android.provisioning is None
    with pytest.raises(InputError, match=r"no \[android\.provisioning\] table") as info:
        payload_for_blueprint(blueprint.android, SecretStore(data_dir=folder, force_file=True))
    assert "download_url" in info.value.hint


def test_a_secret_removed_after_loading_says_how_to_store_it(
    folder: Path, secrets: SecretStore
) -> None:
    blueprint = load_blueprint(_write(folder, GOOD), secrets=secrets)
    assert blueprint.android is not None
    secrets.delete("wlan-tablets")
    with pytest.raises(SecretError, match="wlan-tablets") as info:
        payload_for_blueprint(blueprint.android, secrets)
    assert "station secrets set wlan-tablets" in info.value.hint


async def test_the_windows_qr_reads_the_password_from_the_secret_store_only(
    folder: Path, secrets: SecretStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    path = _write(folder, GOOD)
    station = DriverBackend(tmp_path / "station", secrets=secrets, blueprints=[path])
    try:
        await station.load_blueprint(path)
        payload = await station.android_enrollment()
    finally:
        await station.close()
    assert _decode(provisioning_qr_png(payload)) == json.loads(provisioning_json(payload))
    assert payload[_EXTRA + "WIFI_PASSWORD"] == PASSWORD
    assert PASSWORD not in caplog.text
    records = [p for p in (tmp_path / "station").iterdir() if p.name.startswith("station")]
    assert records  # the station's database (and its WAL) exist and were searched
    for record in records:
        assert PASSWORD.encode() not in record.read_bytes()


def test_invalid_values_are_named_with_file_line_and_key(folder: Path) -> None:
    text = (
        HEAD
        + """
[android.provisioning]
download_url = "http://mdm.kreis-segeberg.example/agent.apk"
wifi_ssid = "Schule-Tablets"
wifi_security = "WPA3"
wifi_password = "Sommer-2026-geheim"
skip_encryption = "yes"
locale = 5
time_zone = "Mars/Olympus"
admin_extras = { ids = [1, 2], ok = "text" }
"""
    )
    path = _write(folder, text)
    issues = _issues(path)
    key = "android.provisioning"
    url = _find(issues, f"{key}.download_url", "is not an https address")
    assert url.line == _line(text, "download_url")
    assert "https URL" in url.expected
    security = _find(issues, f"{key}.wifi_security", "'WPA3'")
    assert security.line == _line(text, "wifi_security")
    assert security.expected == "one of NONE, WPA, WEP"
    inline = _find(issues, f"{key}.wifi_password", "must not be written into the blueprint")
    assert inline.line == _line(text, "wifi_password =")
    assert "wifi_password_secret" in inline.expected
    flag = _find(issues, f"{key}.skip_encryption", "'yes'")
    assert (flag.line, flag.expected) == (_line(text, "skip_encryption"), "true or false")
    assert _find(issues, f"{key}.locale", "whole number").line == _line(text, "locale")
    zone = _find(issues, f"{key}.time_zone", "not a time zone")
    assert zone.line == _line(text, "time_zone")
    extras = _find(issues, f"{key}.admin_extras.ids", "an array")
    assert extras.line == _line(text, "admin_extras")
    # Every problem is reported at once, as file:line key: problem, and no password leaks.
    with pytest.raises(InvalidBlueprint) as info:
        load_blueprint(path)
    message = str(info.value)
    assert f"{path}:{url.line} {key}.download_url: " in message
    assert "Sommer-2026-geheim" not in message


def test_wifi_secret_problems(folder: Path, secrets: SecretStore) -> None:
    text = (
        HEAD
        + """
[android.provisioning]
download_url = "https://mdm.kreis-segeberg.example/agent.apk"
wifi_ssid = "Schule-Tablets"
wifi_password_secret = "Sommer 2026 geheim!"
"""
    )
    path = _write(folder, text)
    issues = _issues(path, secrets)
    written = _find(issues, "android.provisioning.wifi_password_secret", "is it the password")
    assert written.line == _line(text, "wifi_password_secret")
    with pytest.raises(InvalidBlueprint) as info:
        load_blueprint(path, secrets=secrets)
    assert "Sommer 2026" not in str(info.value)

    missing = text.replace('"Sommer 2026 geheim!"', '"wlan-gast"')
    issue = _find(
        _issues(_write(folder, missing), secrets),
        "android.provisioning.wifi_password_secret",
        "'wlan-gast' is not stored on this station",
    )
    assert "station secrets set wlan-gast" in issue.hint


@pytest.mark.parametrize(
    ("table", "key", "words"),
    [
        ('wifi_ssid = "S"\nwifi_security = "EAP"\nwifi_password_secret = "wlan-tablets"',
         "android.provisioning.wifi_security", "EAP networks are not supported"),
        ('wifi_ssid = "S"\nwifi_security = "NONE"\nwifi_password_secret = "wlan-tablets"',
         "android.provisioning.wifi_password_secret", "open network"),
        ('wifi_ssid = "S"\nwifi_security = "WEP"', "android.provisioning.wifi_security",
         "needs a password"),
        ('wifi_password_secret = "wlan-tablets"', "android.provisioning", "without wifi_ssid"),
        ('wifi_ssid = "' + "x" * 33 + '"', "android.provisioning.wifi_ssid", "32 bytes"),
        ("wifi_hidden = 1", "android.provisioning.wifi_hidden", "true or false"),
        ('locale = "deutsch"', "android.provisioning.locale", "is not a locale"),
        ('admin_extras = "x"', "android.provisioning.admin_extras", "a string 'x'"),
        ('download_url = "https://"', "android.provisioning.download_url", "not an https"),
        ('download_url = "https://h:0x1/a.apk"', "android.provisioning.download_url", "https"),
        ("download_url = 7", "android.provisioning.download_url", "whole number"),
        ('wifi_ssid = "S"\nwifi_pasword_secret = "x"', "android.provisioning.wifi_pasword_secret",
         "did you mean 'wifi_password_secret'"),
    ],
)  # fmt: skip
def test_each_problem_names_its_key(
    folder: Path, secrets: SecretStore, table: str, key: str, words: str
) -> None:
    url = "" if "download_url" in table else f'download_url = "{URL}"\n'
    path = _write(folder, HEAD + "\n[android.provisioning]\n" + url + table + "\n")
    issue = _find(_issues(path, secrets), key, words)
    assert issue.line > _line(HEAD, "device_owner")


def test_the_table_needs_a_download_url_and_a_device_owner(folder: Path) -> None:
    text = HEAD.replace('device_owner = "de.kreissegeberg.schulit.mdm/.AdminReceiver"\n', "")
    text += '\n[android.provisioning]\nwifi_ssid = "Gast"\n'
    issues = _issues(_write(folder, text))
    line = _line(text, "[android.provisioning]")
    assert _find(issues, "android.provisioning", "missing key 'download_url'").line >= line
    owner = _find(issues, "android.provisioning", "needs a device owner")
    assert owner.line == line
