"""The message catalog: every template parses back into its values, and what the core really
says to a person (blueprint checks, file readers, secrets, the drivers' error mapping) comes
from the catalog, so the window can translate all of it."""

from __future__ import annotations

import socket
import string
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import httpx
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
from station.errors import ArtifactError, DeviceError, PrinterError, SecretError, StationError
from station.labels.android_qr import payload_for_blueprint, payload_for_plan, provisioning_payload
from station.labels.brother import BrotherPrinter, check_printer_state
from station.labels.model import LabelData, LabelSize, layout_label, qr_modules
from station.labels.queue import PrintQueue
from station.labels.sheets import get_sheet
from station.labels.zpl import ZplPrinter, send_zpl, write_zpl
from station.secrets import SecretStore, SupervisionIdentity, check_name
from station.store import OutboxRow, OutboxState
from station.sync.hub_client import HubTarget
from station.sync.snipeit import SnipeItClient, SnipeItSettings
from station.sync.targets import OP_DEVICE_RESULT, TARGET_HUB, AssetRecord, Dead, Retry, StationInfo

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
    "printer": "zpl://127.0.0.1:9100",
    "printers": "usb://0x04f9:0x209d/000G9Z123456, usb://0x04f9:0x2042",
    "width": "62",
    "length": "29",
    "height": "8",
    "label": "20x8",
    "tag": "SEG042-00007",
    "payload": "https://inventar.example/a/SEG042-00007",
    "module": "0.21",
    "needed": "0.3",
    "sheet": "L4736",
    "offset": "48",
    "last": "47",
    "sheets": "L4736: Avery Zweckform L4736 (45.7 x 21.2 mm); L7160: Avery L7160",
    "op": "device_result",
    "status": "401",
    "request": "GET hardware/byserial/DMPX000001",
    "serial": "DMPX000001",
    "ids": "17, 23",
    # Nested: themselves catalog messages, which the window translates in turn.
    "kind": messages.KIND_STRING_VALUE.fill(value="'fünf'"),
    "action": messages.ACTION_INSTALL.fill(file="lernapp.apk"),
    "where": messages.WHERE_MDM_PAYLOAD.fill(identifier="de.kreis.mdm"),
    "location": messages.SECRETS_IN_FILE.fill(path="/var/lib/station/secrets.json"),
    "reason": messages.OS_PERMISSION_DENIED,
    "error": messages.ADB_STOPPED_ANSWERING.fill(action=messages.ACTION_REBOOT),
    "packages": messages.NONE,
    "hint": messages.CABLE_HINT,
    "thing": messages.SNIPEIT_MODEL,
    "roll": messages.ROLL_DIE_CUT.fill(width="29", length="90"),
    "loaded": messages.ROLL_ENDLESS.fill(width="62"),
    # A list: catalog messages joined by ", " (a printer's error words, and one of its own).
    "problems": ", ".join([messages.PRINTER_COVER_OPEN, messages.PRINTER_CUTTER_JAM, "Unknown 7"]),
}


def _literals(template: str) -> str:
    return "".join(literal for literal, *_ in string.Formatter().parse(template))


def test_every_template_round_trips() -> None:
    """Made with sample values, each message is read back as its template and values."""
    wrong = []
    for template in messages.catalog():
        if template is not messages.WITH_HINT:  # a frame: matched only around messages
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


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _texts(error: StationError) -> list[str]:
    """What a person reads of ``error``: its message (a printer's problem too) and hint."""
    texts = [error.message, str(error)]
    if isinstance(error, PrinterError):
        texts.append(error.problem)
    return [*texts, error.hint] if error.hint else texts


def test_label_and_printer_problems_speak_from_the_catalog(tmp_path: Path) -> None:
    """A printer that is off (a closed port), a Brother status block, labels that do not fit."""
    label = LabelData("SEG042-00007", "Realschule Nord", "SEG042", "DMPX1", "", "A", 7, "x" * 400)
    errors: list[StationError] = []
    attempts: list[Callable[[], object]] = [
        lambda: send_zpl("127.0.0.1", _closed_port(), b"^XA^XZ", timeout=5),
        lambda: write_zpl(tmp_path, b"^XA^XZ"),  # a folder: cannot be written
        lambda: BrotherPrinter(f"tcp://127.0.0.1:{_closed_port()}").print_labels([label]),
        lambda: PrintQueue(tmp_path / "queue", ZplPrinter("127.0.0.1", 9)).submit([]),
        lambda: layout_label(label, LabelSize("20x8", 20, 8)),
        lambda: layout_label(label, LabelSize("0x8", 0, 8)),
        lambda: layout_label(label, LabelSize("38x21", 38.1, 21.2)),
        lambda: qr_modules(""),
        lambda: qr_modules("x" * 5000),
        lambda: get_sheet("L4763"),
        lambda: get_sheet("nothing-like-it"),
        lambda: list(get_sheet("L4736").placements([label], start_offset=999)),
    ]
    for state in (
        {"media_type": "No media", "media_width": 0},
        {"media_type": "Continuous length tape", "media_width": 62, "errors": ["System error"]},
        {"media_type": "Die-cut labels", "media_width": 29, "media_length": 90},
    ):
        attempts.append(lambda state=state: check_printer_state(state, "62", "usb://0x04f9:1"))
    for attempt in attempts:
        with pytest.raises(StationError) as info:
            attempt()
        errors.append(info.value)
    texts = [text for error in errors for text in _texts(error)]
    unknown = [text for text in texts if messages.match(text) is None]
    assert unknown == []
    used = {found[0] for text in texts if (found := messages.match(text)) is not None}
    for expected in (
        messages.PRINTER_PROBLEM,
        messages.PRINTER_REFUSED,
        messages.PRINTER_CANNOT_WRITE,
        messages.PRINTER_UNREACHABLE_HINT,
        messages.WITH_HINT,
        messages.NO_LABELS,
        messages.LABEL_NO_ROOM,
        messages.LABEL_NOT_A_LABEL,
        messages.LABEL_QR_TOO_DENSE,
        messages.QR_PAYLOAD_EMPTY,
        messages.QR_PAYLOAD_TOO_LONG,
        messages.UNKNOWN_SHEET_SUGGESTION,
        messages.UNKNOWN_SHEET,
        messages.SHEET_OFFSET,
        messages.PRINTER_NO_MEDIA,
        messages.PRINTER_REPORTS,
        messages.PRINTER_WRONG_ROLL,
        messages.PRINTER_MEDIA_HINT,
    ):
        assert expected in used, expected
    # A printer's error words are a list: each of them is a catalog message.
    reports = messages.match(errors[-2].problem)
    assert reports == (messages.PRINTER_REPORTS, {"problems": messages.PRINTER_SYSTEM_ERROR})


def test_the_enrollment_qr_problems_speak_from_the_catalog(tmp_path: Path) -> None:
    secrets = demo_secrets(tmp_path / "station")
    plan = load_blueprint(demo_blueprint(tmp_path / "blueprints"), secrets=secrets).android
    assert plan is not None
    apk = plan.apps[0].path
    errors: list[StationError] = []
    for attempt in (
        lambda: payload_for_blueprint(replace(plan, provisioning=None), secrets),
        lambda: payload_for_plan(replace(plan, device_owner=None), "https://x.example/a.apk"),
        lambda: payload_for_plan(replace(plan, apps=()), "https://x.example/a.apk"),
        lambda: provisioning_payload("AdminReceiver", apk, "https://x.example/a.apk"),
        lambda: provisioning_payload("de.other/.Admin", apk, "https://x.example/a.apk"),
        lambda: provisioning_payload(str(plan.device_owner), apk, "ftp://x.example/a.apk"),
        lambda: provisioning_payload(
            str(plan.device_owner), apk, "https://x.example/a.apk", wifi_ssid="S", wifi_security="X"
        ),
        lambda: provisioning_payload(
            str(plan.device_owner),
            apk,
            "https://x.example/a.apk",
            wifi_ssid="S",
            wifi_security="WPA",
        ),
        lambda: provisioning_payload(
            str(plan.device_owner), apk, "https://x.example/a.apk", wifi_password="x"
        ),
    ):
        with pytest.raises(StationError) as info:
            attempt()
        errors.append(info.value)
    texts = [text for error in errors for text in _texts(error)]
    assert [text for text in texts if messages.match(text) is None] == []
    assert messages.match(errors[0].message) == (messages.NO_PROVISIONING, {})
    assert errors[0].hint == messages.PROVISIONING_HINT


async def _hub_outcomes() -> list[str]:
    """What the real hub client makes of a hub that is down, refuses, redirects, garbles."""
    replies = [
        httpx.Response(401, json={"error": "unknown token"}),
        httpx.Response(503, json={"error": "database unavailable"}, headers={"Retry-After": "9"}),
        httpx.Response(302, headers={"Location": "https://login.example/"}),
        httpx.Response(422, json={"error": "invalid batch", "details": ["items.0: bad"]}),
        httpx.Response(200, text="<html>proxy login</html>"),
        httpx.Response(200, json={"results": []}),
        httpx.Response(200, json={"results": [{"key": "K", "status": "rejected", "error": "x"}]}),
    ]

    def answer(request: httpx.Request) -> httpx.Response:
        if not replies:
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        return replies.pop(0)

    target = HubTarget("https://hub.example/", "t", transport=httpx.MockTransport(answer))
    station = StationInfo(station_id="s1", version="1", backlog=1)
    row = OutboxRow(
        id=1,
        idempotency_key="K",
        target=TARGET_HUB,
        op=OP_DEVICE_RESULT,
        natural_key="DMPX1",
        payload={},
        created_at="",
        attempts=0,
        next_attempt_at="",
        last_error="",
        state=OutboxState.PENDING,
        sent_at=None,
    )
    other = replace(row, id=2, op="asset")
    out: list[str] = []
    try:
        for _ in range(8):
            outcomes = await target.deliver([row, other], station)
            out += [o.error for o in outcomes.values() if isinstance(o, Retry | Dead)]
    finally:
        await target.aclose()
    return out


async def _snipeit_errors() -> list[StationError]:
    """What the real Snipe-IT client raises for the answers a real Snipe-IT gives."""
    replies = [
        httpx.Response(429, headers={"Retry-After": "7"}),
        httpx.Response(502, text="Bad Gateway"),
        httpx.Response(401, json={"status": "error", "messages": "Unauthorized"}),
        httpx.Response(200, text="<html>Wartung</html>"),
        httpx.Response(404, json={}),
        httpx.Response(404, json={"status": "error", "messages": "Asset does not exist."}),
        httpx.Response(400, json={"messages": {"serial": ["The serial is invalid."]}}),
        httpx.Response(200, json={"status": "error", "messages": "Something odd"}),
        httpx.Response(200, json={"total": 2, "rows": [{"id": 3}, {"id": 4}]}),
        # byserial finds nothing, then the model is looked up by name and is not there
        httpx.Response(200, json={"total": 0, "rows": []}),
        httpx.Response(200, json={"total": 0, "rows": []}),
    ]

    def answer(request: httpx.Request) -> httpx.Response:
        if not replies:
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        return replies.pop(0)

    settings = SnipeItSettings(url="https://inventar.example", status_id=2)
    client = SnipeItClient(settings, "t", transport=httpx.MockTransport(answer))
    record = AssetRecord(serial="DMPX1", model="iPad (10th generation)")
    errors: list[StationError] = []
    try:
        for call in [client.find_by_serial] * 8 + [client.upsert] * 3:
            with pytest.raises(StationError) as info:
                await call(record if call == client.upsert else "DMPX1")  # type: ignore[arg-type]
            errors.append(info.value)
    finally:
        await client.aclose()
    return errors


async def test_the_sync_errors_speak_from_the_catalog() -> None:
    """Hub and Snipe-IT answers through the real clients: what reaches the sync panel."""
    hub = await _hub_outcomes()
    snipe = await _snipeit_errors()
    texts = hub + [text for error in snipe for text in _texts(error)]
    assert [text for text in texts if messages.match(text) is None] == []
    used = {found[0] for text in texts if (found := messages.match(text)) is not None}
    for expected in (
        messages.HUB_TOKEN_REFUSED,
        messages.HUB_BUSY,
        messages.HUB_REDIRECT,
        messages.HUB_REFUSED,
        messages.HUB_NOT_A_BATCH_REPLY,
        messages.HUB_LEFT_OUT,
        messages.HUB_REJECTED,
        messages.HUB_UNREACHABLE,
        messages.HUB_TAKES_NO_OP,
        messages.SNIPEIT_RATE_LIMIT,
        messages.SNIPEIT_FAILURE,
        messages.SNIPEIT_TOKEN_REFUSED,
        messages.SNIPEIT_TOKEN_HINT,
        messages.SNIPEIT_NO_JSON,
        messages.SNIPEIT_REQUEST_NOT_FOUND,
        messages.SNIPEIT_REQUEST_REFUSED,
        messages.SNIPEIT_HTTP_REFUSED,
        messages.SNIPEIT_SERIAL_LOOKUP_FAILED,
        messages.SNIPEIT_DUPLICATES,
        messages.SNIPEIT_NO_SUCH,
        messages.SNIPEIT_UNREACHABLE,
        messages.WITH_HINT,
    ):
        assert expected in used, expected
    # The server's own words stay data: the token message keeps the hub's reply as it came.
    token = messages.match(next(text for text in hub if "token" in text))
    assert token == (messages.HUB_TOKEN_REFUSED, {"reply": "HTTP 401: unknown token"})
