"""Window tests run offscreen; the runtime's loop thread is always stopped after a test."""

from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"  # before Qt is first imported

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QTranslator
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from station.commands import demo_blueprint, demo_secrets
from station.ui.i18n import install_translators
from station.ui.runtime import EventBridge, Runtime
from station.ui.window import MainWindow
from tests.ui.fakes import FakeBackend


@pytest.fixture(autouse=True)
def _app(qapp: QApplication) -> QApplication:
    """Every test here has the application (timers need its event dispatcher)."""
    return qapp


@pytest.fixture(autouse=True)
def _no_leftover_threads() -> Iterator[None]:
    """Fail a test that leaves the engine thread running (napari's _dangling_qthreads)."""
    yield
    left = [t for t in threading.enumerate() if t.name == "station-engine"]
    assert not left, "the runtime was not shut down: call runtime.shutdown()"


@pytest.fixture
def backend(tmp_path: Path) -> FakeBackend:
    return FakeBackend(tmp_path)


@pytest.fixture
def runtime(qapp: QApplication, backend: FakeBackend) -> Iterator[Runtime]:
    rt = Runtime(backend, EventBridge())
    rt.start()
    try:
        yield rt
    finally:
        rt.shutdown()


@pytest.fixture
def window(qtbot: object, runtime: Runtime) -> Iterator[MainWindow]:
    win = MainWindow(runtime)
    win.resize(1600, 1000)
    yield win
    win.deleteLater()


@pytest.fixture
def german(qapp: QApplication) -> Iterator[list[QTranslator]]:
    translators = install_translators(qapp, "de")
    assert translators, "resources/i18n/station_de.qm did not load"
    yield translators
    for t in translators:
        QCoreApplication.removeTranslator(t)


@pytest.fixture
def demo_backend(tmp_path: Path) -> FakeBackend:
    backend = FakeBackend(tmp_path)
    backend.secrets = demo_secrets(tmp_path / "secrets")
    backend.paths = [demo_blueprint(tmp_path / "blueprints")]
    return backend


@pytest.fixture
def demo_window(qtbot: QtBot, demo_backend: FakeBackend) -> MainWindow:
    runtime = Runtime(demo_backend, EventBridge())
    runtime.start()
    win = MainWindow(runtime)
    qtbot.addWidget(win, before_close_func=lambda w: runtime.shutdown())
    return win
