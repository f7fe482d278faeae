"""The message catalog: every template parses back into its values, and what the core really
says to a person (blueprint checks, file readers, secrets, the drivers' error mapping) comes
from the catalog, so the window can translate all of it."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
from adbutils.errors import AdbConnectionError, AdbError, AdbInstallError, AdbSyncError, AdbTimeout
from pymobiledevice3 import exceptions as pmd3

from station import messages
from station.artifacts.apk import read_apk
from station.artifacts.ipa import read_ipa
from station.artifacts.mobileconfig import read_mobileconfig
from station.blueprint import InvalidBlueprint, load_blueprint
from station.commands import demo_blueprint, demo_secrets
from station.drivers.base import Presence
from station.drivers.errors import map_adb_errors, map_ios_errors
from station.errors import ArtifactError, DeviceError, SecretError, StationError
from station.secrets import SecretStore, SupervisionIdentity, check_name

# A blueprint with one of nearly every problem the checker knows (the window test uses it too).
BROKEN = """\
name = ""
school = { id = "SEG 042", name = "Schule", operator = "Amt", motto = "Lernen" }
asset_tag = { prefix = "SEG042-", digits = "fünf", start = 7 }
device_name = "Tablet {asset_tga}"

[ios]
erase = "sometimes"
supervise = { organization = "Kreis Segeberg", identity = "fehlt-2026" }
skip_setup = ["Siri", "Wallpaper", "Sirri", 5]
profiles = [
    { path = "demo/profiles/wlan-schule.mobileconfig", secrets = { Kennwort = "wlan-schule" } },
    "kaputt.mobileconfig",
    "leer.mobileconfig",
]
apps = ["demo/apps/fehlt.ipa", "kaputt.ipa", "demo/apps/lernapp.apk"]
profils = []

[android]
apps = ["kaputt.apk"]
device_owner = "AdminReceiver"
settings = { "globl.auto_time" = "1", "global.stay_on" = [1] }
files = [{ src = "fehlt.txt", dest = "relativ/info.pdf" }, { src = "demo/files/willkommen.txt" }]
finish = { disable_usb_debugging = "yes" }

[android.provisioning]
download_url = "http://mdm.example.org/agent.apk"
wifi_security = "EAP"
wifi_password = "geheim"
locale = "deutsch"
time_zone = "Mars/Olympus"

[timeouts]
step = 0
install = 1.5e9

[retries]
attempts = 11
backoff = true
"""


def broken_blueprint(folder: Path) -> Path:
    """The demo's files beside a blueprint full of mistakes, and three damaged files."""
    demo_blueprint(folder)
    (folder / "kaputt.mobileconfig").write_bytes(b"\x30\x03\x02\x01")
    (folder / "leer.mobileconfig").write_bytes(b"  \n")
    (folder / "kaputt.ipa").write_bytes(b"not a zip at all")
    (folder / "kaputt.apk").write_bytes(b"PK\x03\x04 but nothing after")
    path = folder / "kaputt.toml"
    path.write_text(BROKEN, encoding="utf-8")
    return path


SAMPLES: dict[str, str] = {
    # Data: shown as it came, so it may hold any punctuation.
    "file": "demo/apps/Lern App (alt).ipa",
    "path": "/home/schule/Baupläne/demo/apps/fehlt.ipa",
    "name": "wlan-schule",
    "key": "Kennwort",
    "value": "'fünf'",
    "suggestion": "profiles",
    "type": "datetime",
    "identifier": "de.kreis.wlan",
    "app": "de.kreis.lernapp",
    "package": "com.example.mdm",
    "choices": "'never', 'when-not-fresh', 'always'",
    "placeholders": "{school.id}, {asset_tag}",
    "low": "1",
    "high": "86400",
    "number": "7",
    "digits": "5",
    "count": "3",
    "size": "123456789",
    "entry": "META-INF/CERT.RSA",
    "column": "12",
    "suffix": ".ipa",
    "backend": "SecretService Keyring",
    "service": "enrollment-station",
    "certificates": "0",
    "keys": "1",
    "field": "PayloadIdentifier",
    "version": "2",
    "uuid": "8A6E2C1E-0000-4000-8000-000000000001",
    "reply": "java.lang.IllegalStateException: Not allowed to set the device owner (accounts)",
    "owner": "com.other.mdm/.Admin",
    "presence": "needs trust",
    "step": "app:de.kreis.lernapp",
    "seconds": "0.5",
    "done": "9",
    "skipped": "2",
    "job": "android:R52X0000001",
    "address": "/var/run/usbmuxd",
    "kind_number": "9",
    "record": "{'MessageType': 'Attached'}",
    "handle": "usb:1-2.3",
    "namespace": "globl",
    "dest": "/sdcard/Documents/willkommen.txt",
    "expected": "2048",
    "component": "AdminReceiver",
    "url": "http://mdm.example.org/agent.apk",
    "security": "WPA",
    # Nested: themselves catalog messages, which the window translates in turn.
    "kind": messages.KIND_STRING_VALUE.fill(value="'fünf'"),
    "action": messages.ACTION_INSTALL.fill(file="lernapp.apk"),
    "where": messages.WHERE_MDM_PAYLOAD.fill(identifier="de.kreis.mdm"),
    "location": messages.SECRETS_IN_FILE.fill(path="/var/lib/station/secrets.json"),
    "reason": messages.OS_PERMISSION_DENIED,
    "error": messages.ADB_STOPPED_ANSWERING.fill(action=messages.ACTION_REBOOT),
    "packages": messages.NONE,
}


def _literals(template: str) -> str:
    return "".join(literal for literal, *_ in string.Formatter().parse(template))


def test_every_template_round_trips() -> None:
    """Made with sample values, each message is read back as its template and values."""
    wrong = []
    for template in messages.catalog():
        assert any(c.isalpha() for c in _literals(template)), f"{template!r} needs words"
        values = {name: SAMPLES[name] for name in template.fields}
        text = template.fill(**values)
        if messages.match(text) != (template, values):
            wrong.append((template, text, messages.match(text)))
        for name in set(template.fields) & messages.NESTED_FIELDS:
            assert messages.match(values[name]) is not None, name
    assert wrong == []


def test_the_catalog_is_complete_and_unambiguous() -> None:
    catalog = messages.catalog()
    assert len(catalog) == len(set(catalog)) > 200
    fields = {name for template in catalog for name in template.fields}
    assert fields >= messages.NESTED_FIELDS
    assert fields <= set(SAMPLES), "give a new field a sample value"
    with pytest.raises(KeyError):
        messages.FILE_MISSING.fill(file="x.ipa")
    with pytest.raises(ValueError, match="format or conversion"):
        messages.Template("{size:d} bytes").fields  # noqa: B018 (the parse is the test)
    # A value is never read as a template, and a translation's lost field shows as itself.
    assert messages.MISSING_KEY.fill(key="{name}") == "missing key '{name}'"
    assert messages.fill("{a} und {b}", {"a": "x"}) == "x und {b}"
    assert messages.match("something no station component says") is None


def _problems(path: Path, secrets: SecretStore) -> list[str]:
    with pytest.raises(InvalidBlueprint) as info:
        load_blueprint(path, secrets=secrets)
    out: list[str] = [info.value.summary, info.value.hint]
    for issue in info.value.issues:
        out += [t for t in (issue.problem, issue.expected, issue.hint) if t]
    return out


def test_every_blueprint_problem_comes_from_the_catalog(tmp_path: Path) -> None:
    secrets = demo_secrets(tmp_path / "station")
    texts = _problems(broken_blueprint(tmp_path / "blueprints"), secrets)
    assert len(texts) > 50
    unknown = [text for text in texts if messages.match(text) is None]
    assert unknown == []
    used = {found[0] for text in texts if (found := messages.match(text)) is not None}
    for expected in (
        messages.FILE_MISSING,
        messages.SECRET_NOT_STORED,
        messages.IS_KIND,
        messages.UNKNOWN_KEY_SUGGESTION,
        messages.UNKNOWN_KEY,
        messages.NOT_ZIP,
        messages.WRONG_FILE_TYPE,
        messages.NO_PAYLOAD_KEY,
        messages.PROFILE_BAD_SIGNATURE,
        messages.PROFILE_EMPTY,
        messages.UNKNOWN_SKIP_KEY_SUGGESTION,
        messages.NOT_IOS_SKIP_KEY,
        messages.NOT_SETTING_NAME_SUGGESTION,
        messages.UNKNOWN_PLACEHOLDER_SUGGESTION,
        messages.EXPECT_SECONDS_RANGE,
        messages.NOT_HTTPS,
        messages.WIFI_PASSWORD_IN_BLUEPRINT,
        messages.NOT_A_TIME_ZONE,
    ):
        assert expected in used, expected
    # Files that cannot be read at all, and TOML that does not parse.
    bad = tmp_path / "syntax.toml"
    bad.write_text('name = "x"\nschool = {\n', encoding="utf-8")
    for text in (*_problems(bad, secrets), *_problems(tmp_path / "missing.toml", secrets)):
        assert messages.match(text) is not None, text
    bad.write_bytes(b'name = "\xff"\n')
    assert all(messages.match(text) for text in _problems(bad, secrets))


def test_file_readers_and_secrets_speak_from_the_catalog(tmp_path: Path) -> None:
    errors: list[StationError] = []
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(b"\x00" * 64)
    for reader in (read_ipa, read_apk):
        for path in (garbage, tmp_path / "absent.file"):
            with pytest.raises(ArtifactError) as info:
                reader(path)
            errors.append(info.value)
    for data in (b"", b"<plist><dict>", b"bplist00garbage", b"\x30\x80"):
        with pytest.raises(ArtifactError) as info:
            read_mobileconfig(data, source="wlan.mobileconfig")
        errors.append(info.value)
    store = SecretStore(data_dir=tmp_path / "secrets", force_file=True)
    broken_file = tmp_path / "broken" / "secrets.json"
    broken_file.parent.mkdir()
    broken_file.write_text("{not json", encoding="utf-8")
    for attempt in (
        lambda: check_name("no spaces allowed"),
        lambda: store.get("fehlt"),
        lambda: store.set("leer", ""),
        lambda: SupervisionIdentity.from_pem("nothing", source="supervision-2026"),
        lambda: SecretStore(data_dir=broken_file.parent, force_file=True).get("x"),
    ):
        with pytest.raises(SecretError) as info:
            attempt()
        errors.append(info.value)
    for error in errors:
        # An ArtifactError's message is "path: problem": the path is data.
        texts = [error.problem] if isinstance(error, ArtifactError) else [error.message]
        for text in [*texts, error.hint] if error.hint else texts:
            assert messages.match(text) is not None, text


def _mapped(mapper: object, error: BaseException) -> DeviceError:
    assert callable(mapper)
    with pytest.raises(DeviceError) as info, mapper("usb:1-1.3", "install lernapp.apk"):
        raise error
    return info.value


ADB_ERRORS: list[BaseException] = [
    AdbInstallError("Failure [INSTALL_FAILED_INSUFFICIENT_STORAGE]"),
    AdbTimeout("timed out"),
    AdbConnectionError("[Errno 111] Connection refused"),
    AdbSyncError("write failed: No space left on device"),
    AdbError("device unauthorized.\nThis adb server's $ADB_VENDOR_KEYS is not set"),
    AdbError("device still authorizing"),
    AdbError("device offline"),
    AdbError("more than one device/emulator"),
    AdbError("protocol fault (couldn't read status): Success"),
    ConnectionResetError(104, "Connection reset by peer"),
    ValueError("invalid literal for int() with base 10: 'x'"),
]
IOS_ERRORS: list[BaseException] = [
    pmd3.PairingDialogResponsePendingError(),
    pmd3.UserDeniedPairingError(),
    pmd3.PasswordRequiredError(),
    pmd3.NotPairedError(),
    pmd3.MCProtectedError("MCProtected", "00008030-0001", "17.5"),
    pmd3.CloudConfigurationAlreadyPresentError(),
    pmd3.ConnectionFailedToUsbmuxdError(),
    pmd3.ConnectionTerminatedError(),
    pmd3.IncorrectModeError(),
    pmd3.AppInstallError("APIInternalError: Could not write to disk"),
    pmd3.MuxException("bad reply"),
    pmd3.PyMobileDevice3Exception("something else"),
    KeyError("Status"),
]


def test_the_drivers_error_mapping_speaks_from_the_catalog() -> None:
    """Real adbutils and pymobiledevice3 exceptions, through the drivers' real mappers."""
    presence_hints = {p.hint for p in Presence if p.hint}
    cases = [(map_adb_errors, e) for e in ADB_ERRORS] + [(map_ios_errors, e) for e in IOS_ERRORS]
    for mapper, error in cases:
        mapped = _mapped(mapper, error)
        found = messages.match(mapped.message)
        assert found is not None, mapped.message
        assert found[1]["action"] == "install lernapp.apk"
        assert messages.match(found[1]["action"]) == (
            messages.ACTION_INSTALL,
            {"file": "lernapp.apk"},
        )
        assert not mapped.hint or mapped.hint in presence_hints or messages.match(mapped.hint)
