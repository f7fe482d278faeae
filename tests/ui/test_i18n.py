"""German and English: the .ts covers every string, the .qm is its compilation, and no string
in the German window is English."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QLocale
from pytestqt.qtbot import QtBot

from station.jobs.events import EventType, JobEvent, JobState
from station.ui.i18n import I18N_DIR, default_language, read_ts, source_strings
from station.ui.technician import PinDialog, SecretDialog
from station.ui.texts import _hints
from station.ui.window import MainWindow, widget_texts
from station.ui.wizards import CalibrationWizard, FirstRunWizard
from tests.ui.fakes import device, job, progress

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


def _english_fragments() -> list[re.Pattern[str]]:
    """Pieces of English source text (4+ letters) whose German differs."""
    translations = read_ts(TS)
    patterns = set()
    for (_ctx, source), german in translations.items():
        if source == german:
            continue  # "PIN", "App", "iPad": the same word in German
        for piece in re.split(r"%\d", source):
            piece = piece.strip(" .:…()·-")
            if len(re.sub(r"[^A-Za-z]", "", piece)) >= 4 and piece not in german:
                patterns.add(piece)
    return [re.compile(rf"(?<![A-Za-zÄÖÜäöüß]){re.escape(p)}(?![A-Za-z])") for p in patterns]


def _english_in(texts: list[tuple[str, str]]) -> list[tuple[str, str, str]]:
    found = []
    patterns = _english_fragments()
    for name, text in texts:
        for pattern in patterns:
            if pattern.search(text):
                found.append((name, text, pattern.pattern))
    return found


@pytest.mark.usefixtures("german")
def test_no_string_in_the_german_window_is_english(
    qtbot: QtBot, demo_window: MainWindow, tmp_path: Path
) -> None:
    window = demo_window
    with qtbot.waitSignal(window.bridge.blueprint_loaded, timeout=20000):
        window.choose_blueprint(window.runtime.backend.blueprints()[0])
    hints = list(_hints())
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
