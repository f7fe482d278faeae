"""German and English: the .ts covers every string, the .qm is its compilation, and no string
in the German window is English."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import re
import shutil
import socket
import string
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest
from adbutils.errors import AdbError, AdbInstallError, AdbTimeout
from pymobiledevice3 import exceptions as pmd3
from PySide6.QtCore import QCoreApplication, QLocale
from pytestqt.qtbot import QtBot

from station import messages
from station.blueprint import InvalidBlueprint, load_blueprint
from station.commands import demo_blueprint, demo_secrets
from station.drivers.errors import map_adb_errors, map_ios_errors
from station.errors import DeviceError, DeviceRefused, InputError, PrinterError
from station.hub.app import create_app
from station.hub.db import HubDB
from station.jobs.engine import Engine, EngineSettings
from station.jobs.events import EventBus, EventType, JobEvent, JobState
from station.jobs.runner import prepare
from station.labels.android_qr import payload_for_blueprint
from station.labels.brother import BrotherPrinter, check_printer_state
from station.labels.model import LabelData
from station.labels.queue import PartlyPrinted, PrintQueue
from station.labels.zpl import ZplPrinter
from station.store import StepStatus, Store
from station.sync.hub_client import HubTarget
from station.sync.relay import Relay
from station.sync.status import sync_status
from station.sync.targets import TARGET_HUB, DeviceResult, hub_entry
from station.ui.i18n import I18N_DIR, catalog_strings, default_language, read_ts, source_strings
from station.ui.printing import LABEL_PRINTER, LABEL_SIZE_SETTING, SHEET_SETTING
from station.ui.technician import PinDialog, SecretDialog
from station.ui.texts import MESSAGES_CONTEXT, _hints, message_text
from station.ui.window import MainWindow, widget_texts
from station.ui.wizards import CalibrationWizard, FirstRunWizard
from tests.fakes import FakeAndroidDriver, FakeIosDriver, FakeTablet, register_apps
from tests.hub.servers import ThreadedServer
from tests.test_messages import SAMPLES, broken_blueprint
from tests.ui.fakes import FakeBackend, device, job, progress

TS = I18N_DIR / "station_de.ts"
QM = I18N_DIR / "station_de.qm"


def test_the_ts_file_has_every_source_string_translated() -> None:
    translations = read_ts(TS)
    wanted = {(ctx, text) for ctx, texts in source_strings().items() for text in texts}
    assert wanted - set(translations) == set(), "run: python -m station.ui.i18n"
    assert set(translations) - wanted == set(), "obsolete strings: python -m station.ui.i18n"
    untranslated = sorted(key for key, value in translations.items() if not value)
    assert untranslated == []
    for (_ctx, source), german in translations.items():
        for placeholder in re.findall(r"%\d", source):
            assert placeholder in german, (source, german)


def _fields(text: str) -> set[str]:
    return {name for _lit, name, _spec, _conv in string.Formatter().parse(text) if name}


@pytest.mark.usefixtures("german")
def test_every_catalog_message_has_a_german_translation() -> None:
    """Each template of station/messages.py, with the same fields, and the .qm carries it."""
    translations = read_ts(TS)
    assert catalog_strings() == source_strings()[MESSAGES_CONTEXT]
    for template in messages.catalog():
        german = translations[(MESSAGES_CONTEXT, template)]
        assert german, template
        assert german != template, template
        assert _fields(german) == _fields(template), (template, german)
        assert QCoreApplication.translate(MESSAGES_CONTEXT, template) == german
    # A message made from a template comes out German, values and nested messages included.
    kind = messages.KIND_STRING_VALUE.fill(value="'fünf'")
    assert message_text(messages.IS_KIND.fill(kind=kind)) == "ist ein Text 'fünf'"
    action = messages.ACTION_INSTALL.fill(file="lernapp.apk")
    retry = messages.RETRYING_BECAUSE.fill(error=messages.ADB_STOPPED_ANSWERING.fill(action=action))
    assert (
        message_text(retry)
        == "wird wiederholt: lernapp.apk installieren: das Tablet antwortet nicht mehr"
    )
    assert message_text(messages.STEP_TIMED_OUT.fill(step="app:de.kreis.lernapp")) == (
        "App lernapp: Zeit abgelaufen"
    )
    assert message_text("a device's own words") is None


def _lrelease() -> str | None:
    local = Path(sys.executable).with_name("pyside6-lrelease")
    return str(local) if local.exists() else shutil.which("pyside6-lrelease")


def test_the_qm_file_is_compiled_from_the_ts_file(tmp_path: Path) -> None:
    tool = _lrelease()
    if tool is None:
        pytest.skip("pyside6-lrelease is not installed")
    out = tmp_path / "station_de.qm"
    subprocess.run([tool, "-silent", str(TS), "-qm", str(out)], check=True, timeout=60)
    assert out.read_bytes() == QM.read_bytes(), "recompile: pyside6-lrelease station_de.ts"


def test_german_is_the_default_on_a_german_system() -> None:
    assert default_language(QLocale(QLocale.Language.German, QLocale.Country.Austria)) == "de"
    assert default_language(QLocale(QLocale.Language.English)) == "en"
    assert default_language(QLocale(QLocale.Language.French)) == "en"


def test_in_english_a_message_stays_as_the_core_said_it() -> None:
    """Without a translator the window shows the core's English exactly (values and all)."""
    for template in messages.catalog():
        text = template.fill(**{name: SAMPLES[name] for name in template.fields})
        if "step" in template.fields or "presence" in template.fields:
            continue  # shown in the window's words for steps and states
        assert message_text(text) == text


def _english_fragments() -> list[re.Pattern[str]]:
    """Pieces of English source text (4+ letters) that no German translation uses."""
    translations = read_ts(TS)
    all_german = "\n".join(translations.values())
    patterns = set()
    for (_ctx, source), german in translations.items():
        if source == german:
            continue  # "PIN", "App", "iPad": the same word in German
        for piece in re.split(r"%\d|\{\w+\}|\{\{|\}\}", source):
            piece = piece.strip(" .:…()·-'\"[]#,?")
            if len(re.sub(r"[^A-Za-z]", "", piece)) >= 4 and piece not in all_german:
                patterns.add(piece)
    return [re.compile(rf"(?<![A-Za-zÄÖÜäöüß]){re.escape(p)}(?![A-Za-z])") for p in patterns]


# English words that German prose never uses: catches English that is in no .ts entry at all.
_ENGLISH_WORDS = re.compile(
    r"\b(?:the|is|are|not|does|has|have|with|this|that|of|and|cannot|would|must|should|"
    r"expected|found|missing|unknown|invalid|there|which|your|you|please|failed|retry|"
    r"waiting|device|file)\b",
)


def _english_in(
    texts: Iterable[tuple[str, str]], data: Iterable[str] = ()
) -> list[tuple[str, str, str]]:
    """(widget, text, what is English); ``data`` (file names, a device's reply) is left out."""
    found = []
    patterns = _english_fragments()
    pieces = sorted({d for d in data if d}, key=len, reverse=True)
    for name, text in texts:
        prose = text
        for piece in pieces:
            prose = prose.replace(piece, " ")
        for pattern in [*patterns, _ENGLISH_WORDS]:
            if m := pattern.search(prose):
                found.append((name, text, m.group(0)))
    return found


def _data_in(text: str) -> set[str]:
    """The data in a core message (its fields that are not messages themselves)."""
    found = messages.match(text)
    if found is None:
        return set()
    _template, values = found
    data: set[str] = set()
    for name, value in values.items():
        nested = messages.match(value) if name in messages.NESTED_FIELDS else None
        data |= _data_in(value) if nested is not None else {value}
    return data


@pytest.mark.usefixtures("german")
def test_no_string_in_the_german_window_is_english(
    qtbot: QtBot, demo_window: MainWindow, tmp_path: Path
) -> None:
    window = demo_window
    with qtbot.waitSignal(window.bridge.blueprint_loaded, timeout=20000):
        window.choose_blueprint(window.runtime.backend.blueprints()[0])
    hints = list(_hints()) + [  # the presence hints and every fixed hint of the catalog
        t for n, t in vars(messages).items() if n.endswith("_HINT") and not t.fields
    ]
    events: list[JobEvent] = [JobEvent(type=EventType.RUN, state="started")]
    states = list(JobState)
    for n, hint in enumerate(hints, start=1):
        state = states[n % len(states)]
        key = f"ios:{n}"
        events += [
            device(key, n, "needs_trust" if n % 3 else "usb_debugging_off", hint=hint),
            job(
                key,
                state,
                slot=n,
                step=["pair", "app:de.x.y", "erase", "profile:a.b"][n % 4],
                hint=hint,
                detail=["checking", "3 done, 1 already so", "retry 1 in 0.5s"][n % 3],
                tag=f"SEG042-{n:05}",
            ),
            progress(key, n, 0.5, "app:de.x.y"),
            JobEvent(type=EventType.STEP, job=key, slot=n, step="erase", state="running"),
            JobEvent(type=EventType.STEP, job=key, slot=n, step="erase", state="done"),
        ]
    events.append(JobEvent(type=EventType.RUN, state="failed", data={"done": 3, "devices": 9}))
    window.model.apply(events)
    window.model.flush()
    window.view.setCurrentIndex(window.model.index(1))
    window._on_failed("busy", "")

    texts = window.visible_texts()
    assert ("side-tabs", "Checkliste") in texts
    assert any("Fach 2" in text for _name, text in texts)
    assert _english_in(texts) == []

    wizard = FirstRunWizard(window.settings, window.mode, window)
    calibration = CalibrationWizard(30, window)
    pin = PinDialog(window.mode, window)
    secret = SecretDialog(window)
    for dialog in (wizard, calibration, pin, secret):
        dialog_texts = list(widget_texts(dialog))
        assert _english_in(dialog_texts) == []
    for page_id in wizard.pageIds():
        page = wizard.page(page_id)
        assert _english_in([("page", page.title()), ("page", page.subTitle())]) == []


def test_the_english_check_does_find_english(qtbot: QtBot, window: MainWindow) -> None:
    """The walk above is only worth something if it catches an untranslated window."""
    found = _english_in(window.visible_texts())
    assert any(text == "Station settings…" for _name, text, _p in found)
    assert any("Print labels" in text for _name, text, _p in found)


@pytest.mark.usefixtures("german")
def test_blueprint_problems_are_german_in_the_german_window(
    qtbot: QtBot, demo_window: MainWindow, demo_backend: FakeBackend, tmp_path: Path
) -> None:
    """Wrong kinds, unknown keys, missing and damaged files, a missing secret: all German."""
    path = broken_blueprint(tmp_path / "broken")
    window = demo_window
    with qtbot.waitSignal(window.bridge.blueprint_failed, timeout=20000) as failed:
        window.choose_blueprint(path)
    error = failed.args[1]
    assert isinstance(error, InvalidBlueprint)
    problems = window.run_control.problems
    assert problems.count() == len(error.issues) > 25
    data = {str(tmp_path)}
    for issue in error.issues:
        data |= {issue.file, issue.key}
        for text in (issue.problem, issue.expected, issue.hint):
            assert not text or messages.match(text) is not None, text
            data |= _data_in(text)
    texts = window.visible_texts()
    shown = "\n".join(problems.item(i).text() for i in range(problems.count()))
    for german in (
        "ist ein Text 'fünf'",
        "gibt es nicht",
        "unbekannter Schlüssel, meinten Sie",
        "ist auf dieser Station nicht gespeichert",
        "kein ZIP-Archiv",
        "erwartet: ein Pfad zu einer .ipa-Datei, vom Bauplan aus gesehen",
    ):
        assert german in shown, (german, shown)
    assert _english_in(texts, data) == []
    # The check is worth something: the same problems in English are found.
    english = [("problem", str(issue)) for issue in error.issues]
    caught = {text for _n, text, _w in _english_in(english, data)}
    assert len(caught) >= len(error.issues) - 2


FAST = EngineSettings(person_poll=0.02, backoff_scale=0.001, restart_wait=2.0, settle=0.05)


def _mapped(
    mapper: Callable[[str, str], AbstractContextManager[None]], action: str, error: BaseException
) -> DeviceError:
    """What the real driver's error mapping makes of a real library exception."""
    try:
        with mapper("usb:1-2.1", action):
            raise error
    except DeviceError as exc:
        return exc
    raise AssertionError("not mapped")


async def _failing_run(folder: Path) -> list[JobEvent]:
    """The real engine over fake tablets that fail with the real drivers' errors, one by one."""
    secrets = demo_secrets(folder / "station")
    prepared = prepare(demo_blueprint(folder / "blueprints"), secrets)
    ios, android = FakeIosDriver(), FakeAndroidDriver()
    register_apps(prepared.blueprint, ios, android)
    protocol = AdbError("protocol fault (couldn't read status): Success")
    dpm = (
        "java.lang.IllegalStateException: Not allowed to set the device owner because there "
        "are already some accounts on the device"
    )
    cases: list[tuple[FakeIosDriver | FakeAndroidDriver, str, list[BaseException]]] = [
        (
            android,
            "install_app",
            [
                _mapped(
                    map_adb_errors,
                    "install mdm-agent.apk",
                    AdbInstallError("Failure [INSTALL_FAILED_INSUFFICIENT_STORAGE]"),
                )
            ],
        ),
        # As android.py words dpm's refusal once it uses the catalog (ADB_REFUSED).
        (
            android,
            "set_device_owner",
            [
                DeviceRefused(
                    messages.ADB_REFUSED.fill(action=messages.ACTION_SET_DEVICE_OWNER, reply=dpm),
                    device="usb:1-2.2",
                    hint=messages.OWNER_ACCOUNTS_HINT,
                )
            ],
        ),
        (
            android,
            "put_setting",
            [_mapped(map_adb_errors, "set global.auto_time", protocol) for _ in range(3)],
        ),
        (android, "install_app", [_mapped(map_adb_errors, "install mdm-agent.apk", AdbTimeout())]),
        (
            ios,
            "install_profile",
            [_mapped(map_ios_errors, "install profile", pmd3.PasswordRequiredError())],
        ),
        (
            ios,
            "supervise",
            [_mapped(map_ios_errors, "supervise", pmd3.CloudConfigurationAlreadyPresentError())],
        ),
    ]
    bus = EventBus()
    sub = bus.subscribe(maxsize=100000)
    with Store(folder / "station.db") as store:
        run = store.start_run(prepared.blueprint.name, prepared.blueprint.content_hash)
        engine = Engine(
            store=store,
            blueprint=prepared.blueprint,
            run_id=run.id,
            secrets=prepared.secrets,
            identity=prepared.identity,
            ios=ios,
            android=android,
            settings=FAST,
            bus=bus,
            rng=random.Random(1),
        )
        async with engine:
            for n, (driver, op, errors) in enumerate(cases, start=1):
                driver.fail(op, *errors)
                if driver is ios:
                    ios.plug(
                        FakeTablet(serial=f"DMPX{n:06d}", udid=f"00008030-{n:016X}"), f"1-1.{n}"
                    )
                else:
                    android.plug(FakeTablet(serial=f"R52X{n:07d}"), f"1-2.{n}")
                assert await engine.wait(expect=n, within=30)
    sub.close()
    return sub.pending()


@pytest.mark.usefixtures("german")
def test_device_failures_are_german_on_tiles_and_in_the_detail(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    """Out of storage, a refused device owner, garbage, a locked iPad, a cloud configuration."""
    events = asyncio.run(_failing_run(tmp_path))
    failed = [e for e in events if e.type is EventType.JOB and e.state == JobState.FAILED.value]
    assert len(failed) == 4, [(e.job, e.detail) for e in failed]
    data = {str(tmp_path)}
    for event in events:
        for text in (event.detail, event.hint):
            data |= _data_in(text)
        data |= {event.job, event.serial, event.data.get("asset_tag", "")}
    window.model.apply(events)
    window.model.flush()
    texts = window.visible_texts()
    for row in range(window.model.rowCount()):
        state = window.model.slot_state(row)
        if state.job:
            window.detail.show_state(state)
            texts += list(widget_texts(window.detail))
    shown = "\n".join(text for _name, text in texts)
    for german in (
        "Meldung des Tablets: Failure [INSTALL_FAILED_INSUFFICIENT_STORAGE]",
        "Speicher auf dem Tablet freigeben",
        "Geräteinhaber festlegen: das Tablet lehnt ab. Meldung des Tablets: java.lang",
        "unerwartete Antwort des Geräts",
        "wird wiederholt: global.auto_time setzen: unerwartete Antwort des Geräts",
        "Versuch 2 in 0.0 s",
        "wartet auf eine Person: Profil installieren: das iPad ist mit einem Code gesperrt",
        "Cloud-Konfiguration",
    ):
        assert german in shown, (german, shown)
    assert _english_in(texts, data) == []
    # The check is worth something: the engine's own English is found in spite of the data.
    english = [("detail", e.detail) for e in failed] + [("hint", e.hint) for e in failed]
    assert {text for _n, text, _w in _english_in(english, data)} == {t for _n, t in english}


# --- printers, the enrollment QR and sync: what the labels and sync areas say -------------


def _closed_port() -> int:
    """A loopback port nobody listens on (bound, read, closed again): connecting is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _labels(count: int) -> list[LabelData]:
    return [
        LabelData(
            asset_tag=f"SEG042-{n:05}",
            school_name="Realschule Nord",
            school_id="SEG042",
            serial=f"DMPX{n:06}",
            model="iPad13,1",
            cart="A",
            slot=n,
            qr_payload=f"https://inventar.example/a/SEG042-{n:05}",
        )
        for n in range(1, count + 1)
    ]


@pytest.mark.usefixtures("german")
def test_a_printer_that_is_off_is_german_in_the_window(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    """The real print queue sends ZPL (and Brother raster) to a closed port: PrinterError."""
    port = _closed_port()
    printers = [ZplPrinter("127.0.0.1", port, timeout=5), BrotherPrinter(f"tcp://127.0.0.1:{port}")]
    for n, printer in enumerate(printers):
        queue = PrintQueue(tmp_path / f"queue-{n}", printer)

        async def print_now(queue: PrintQueue = queue) -> None:
            await asyncio.to_thread(queue.submit, _labels(3))

        # A command that fails on the loop thread reaches the window as failed("command", ...).
        with qtbot.waitSignal(window.bridge.failed, timeout=20000) as failed:
            window.runtime._submit(print_now())
        code, detail = failed.args
        assert code == "command"
        assert "refused the connection" in detail  # the CLI's and the log's English
        assert len(queue.pending()) == 1  # the labels wait for Retry
        shown = window.statusBar().currentMessage()
        where = f"127.0.0.1:{port}" if n == 0 else f"tcp://127.0.0.1:{port}"
        assert (
            f"Drucker {where}: lässt keine Verbindung zu. Was zu tun ist: Drucker einschalten"
            in shown
        ), shown
        data = _data_in(detail) | {str(port)}
        assert _english_in([("status", shown)], data) == []
        # The same error shown as a problem of its own (message, then what to do).
        with pytest.raises(PrinterError) as info:
            queue.retry_pending()
        window.show_problem(info.value)
        shown = window.statusBar().currentMessage()
        assert "Was zu tun ist: Drucker einschalten" in shown, shown
        assert _english_in([("status", shown)], data) == []
        # Without the window's translation the same text is English and is caught.
        assert _english_in([("status", detail)], data) != []


@pytest.mark.usefixtures("german")
def test_a_station_problem_without_a_hint_is_german(qtbot: QtBot, window: MainWindow) -> None:
    """The banner shows the problem itself when there is nothing to do (its detail)."""
    detail = messages.USBMUXD_AT_UNREACHABLE.fill(
        address="/var/run/usbmuxd", error="[Errno 2] No such file or directory"
    )
    window._on_station_problem(detail, "")
    shown = window.banner.text()
    assert "usbmuxd unter /var/run/usbmuxd ist nicht erreichbar" in shown, shown
    assert _english_in([("banner", shown)], _data_in(detail)) == []
    assert _english_in([("banner", detail)], _data_in(detail)) != []


@pytest.mark.usefixtures("german")
def test_the_printers_own_words_are_german(qtbot: QtBot) -> None:
    """A Brother status block's errors, a roll that does not fit, a job torn after label 1."""
    ql = "usb://0x04f9:0x209d"
    texts: list[str] = []
    for state in (
        {"media_type": "No media", "media_width": 0},
        {"media_type": "Continuous length tape", "media_width": 62, "errors": ["Tape cutter jam"]},
        {"media_type": "Continuous length tape", "media_width": 29, "media_length": 0},
    ):
        with pytest.raises(PrinterError) as info:
            check_printer_state(state, "62", ql)
        texts += [info.value.message, info.value.hint]
    torn = PartlyPrinted(
        ql,
        messages.PARTLY_PRINTED.fill(
            error=messages.PRINTER_REPORTED.fill(
                problems=", ".join([messages.PRINTER_TAPE_STUCK, "Unknown bit 7"])
            ),
            done=1,
            count=3,
        ),
        printed=1,
    )
    texts.append(torn.message)
    german = [message_text(text) for text in texts]
    assert None not in german
    assert german[0] == f"Drucker {ql}: hat kein Band und keine Etiketten eingelegt"
    assert german[2] == f"Drucker {ql}: meldet: das Schneidemesser klemmt"
    assert german[4] == (
        f"Drucker {ql}: hat Endlosband 29 mm eingelegt, die Etiketten sind aber für "
        "Endlosband 62 mm angelegt"
    )
    assert german[-1] == (
        f"Drucker {ql}: meldete: das Band ist leer oder klemmt, Unknown bit 7 "
        "(nach 1 von 3 Etiketten)"
    )
    data = {ql, "Unknown bit 7"}
    assert _english_in([("printer", str(g)) for g in german], data) == []


def _without_provisioning(folder: Path) -> Path:
    """The demo blueprint without its [android.provisioning] table."""
    path = demo_blueprint(folder)
    text = path.read_text(encoding="utf-8")
    start = text.index("[android.provisioning]")
    end = text.index("\n[", start)
    path.write_text(text[:start] + text[end + 1 :], encoding="utf-8")
    return path


# The offscreen platform notes that it cannot pass size hints on when a dialog is shown.
@pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")
@pytest.mark.usefixtures("german")
def test_the_enrollment_qr_without_provisioning_is_german(
    qtbot: QtBot, demo_window: MainWindow, demo_backend: FakeBackend, tmp_path: Path
) -> None:
    """The real check of the blueprint's plan says what is missing, in German."""
    secrets = demo_secrets(tmp_path / "station")
    blueprint = load_blueprint(_without_provisioning(tmp_path / "plain"), secrets=secrets)
    plan = blueprint.android
    assert plan is not None
    assert plan.provisioning is None

    async def enrollment() -> Mapping[str, Any]:
        return payload_for_blueprint(plan, secrets)

    demo_backend.android_enrollment = enrollment  # type: ignore[method-assign]
    demo_window.show_android_qr()
    dialog = demo_window.android_qr
    assert dialog is not None
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: "[android.provisioning]" in dialog.help.text(), timeout=20000)
    text = dialog.help.text()
    assert text.startswith(
        "Der Einrichtungscode kann nicht erstellt werden: der Bauplan hat keinen Abschnitt "
        "[android.provisioning]"
    ), text
    assert "Was zu tun ist: den Abschnitt [android.provisioning] mit download_url" in text
    assert _english_in(list(widget_texts(dialog))) == []
    with pytest.raises(InputError) as info:
        payload_for_blueprint(plan, secrets)
    assert _english_in([("qr", info.value.message), ("qr", info.value.hint)]) != []
    dialog.reject()


def _outbox(path: Path) -> Store:
    store = Store(path)
    run = store.start_run("bp", "hash")
    for serial in ("DMP1", "DMP2"):
        device = store.upsert_device("ios", serial, udid=serial, model="iPad13,1")
        result = DeviceResult(
            serial=serial,
            platform="ios",
            step="enroll",
            status="done",
            recorded_at=dt.datetime(2026, 11, 29, 8, 0, tzinfo=dt.UTC),
            school="Realschule Nord",
        )
        store.record_step_result(
            run.id, device.id, "enroll", StepStatus.DONE, outbox=[hub_entry(result)]
        )
    return store


async def _drain(store: Store, url: str, token: str) -> str:
    """One pass of the real relay to the hub at ``url``; the last error it recorded."""
    relay = Relay(store, {TARGET_HUB: HubTarget(url, token, timeout=10)})
    try:
        report = await relay.drain_once()
    finally:
        await relay.aclose()
    assert report.retried == 2, report
    assert report.sent == 0, report
    return sync_status(store).last_error


@pytest.mark.usefixtures("german")
def test_the_sync_panel_says_a_hub_problem_in_german(
    qtbot: QtBot, window: MainWindow, backend: FakeBackend, tmp_path: Path
) -> None:
    """A hub that is down (a closed port), then the real hub refusing an unknown token."""
    hub_db = HubDB(f"sqlite:///{tmp_path / 'hub.db'}")
    panel = window.sync_panel
    panel.timer.setInterval(20)
    try:
        with (
            _outbox(tmp_path / "down.db") as down_store,
            _outbox(tmp_path / "refused.db") as refused_store,
            ThreadedServer(create_app(hub_db)) as hub,
        ):
            down = asyncio.run(_drain(down_store, f"http://127.0.0.1:{_closed_port()}/", "token"))
            assert down.startswith("hub unreachable: ")
            refused = asyncio.run(_drain(refused_store, hub.url, "not-a-token-the-hub-knows"))
            assert refused.startswith("hub refused this station's token (HTTP 401: unknown token)")
            for store, stored, german in (
                (down_store, down, "Zentrale nicht erreichbar. Meldung der Verbindung: "),
                (refused_store, refused, "lehnt den Zugangsschlüssel dieser Station ab"),
            ):
                backend.store = store
                qtbot.waitUntil(lambda german=german: german in panel.error.text(), timeout=10000)
                texts = list(widget_texts(panel))
                assert any("2 wartend" in text for _n, text in texts), texts
                assert _english_in(texts, _data_in(stored)) == []
                # The check is worth something: the stored English is caught.
                assert _english_in([("error", stored)], _data_in(stored)) != []
            window.close()
    finally:
        hub_db.close()


@pytest.mark.usefixtures("german")
def test_labels_that_do_not_fit_are_explained_in_german(qtbot: QtBot, window: MainWindow) -> None:
    """The label printer's label is too small for QR and tag: said in German, what to do too."""
    window.settings.set_setting(SHEET_SETTING, LABEL_PRINTER)
    window.settings.set_setting(LABEL_SIZE_SETTING, "20x8")
    window.model.apply(
        [job(f"ios:{n}", JobState.DONE, slot=n, tag=f"SEG042-{n:05}") for n in (1, 2)]
    )
    window.model.flush()
    with qtbot.waitSignal(window.bridge.labels_ready, timeout=10000):
        window.print_labels()
    qtbot.waitUntil(lambda: "20 x 8 mm" in window.statusBar().currentMessage(), timeout=10000)
    shown = window.statusBar().currentMessage()
    assert "passen QR-Code und Inventarnummer nicht nebeneinander" in shown, shown
    assert "Was zu tun ist: Etiketten von mindestens etwa" in shown, shown
    assert window.label_preview is None
    assert _english_in([("status", shown)], {"20x8"}) == []
