"""The window application: QApplication, translators, runtime, window, and the demo's director."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QApplication

from station.errors import StationError
from station.jobs.events import JobState
from station.ui.backend import StationBackend
from station.ui.i18n import default_language, install_translators
from station.ui.runtime import EventBridge, Runtime
from station.ui.window import MainWindow

log = logging.getLogger("station.ui")

WINDOW_SIZE = (1600, 1000)


class Director(QObject):
    """Drives the window for the demo: choose, start, screenshot mid-run, quit at the end."""

    def __init__(
        self,
        window: MainWindow,
        *,
        blueprint: Path | None,
        autostart: bool,
        screenshot: Path | None,
        quit_when_done: bool,
        final_screenshot: Path | None = None,
    ) -> None:
        super().__init__(window)
        self.final_screenshot = final_screenshot
        self.window = window
        self.autostart = autostart
        self.screenshot = screenshot
        self.quit_when_done = quit_when_done
        self.shot_taken = False
        self.exit_code = 0
        window.bridge.blueprint_loaded.connect(self._on_blueprint_loaded)
        window.bridge.blueprint_failed.connect(self._on_blueprint_failed)
        window.model.refreshed.connect(self._on_model_refreshed)
        window.run_finished.connect(self._on_run_finished)
        if blueprint is not None:
            window.choose_blueprint(blueprint)

    def _on_blueprint_loaded(self, _path: Path, _blueprint: object) -> None:
        if self.autostart:
            self.autostart = False
            self.window.start_run()

    def _on_blueprint_failed(self, _path: Path, _error: StationError) -> None:
        if self.quit_when_done:
            self.exit_code = 2
            self._save_shot()
            QTimer.singleShot(0, self.window.close)

    def _on_model_refreshed(self) -> None:
        """Mid-run: a third of the tablets final, the rest still busy."""
        if self.screenshot is None or self.shot_taken:
            return
        slots = self.window.model.occupied()
        final = [s for s in slots if s.state in (JobState.DONE, JobState.FAILED)]
        busy = [s for s in slots if s.state == JobState.RUNNING]
        if slots and busy and 3 * len(final) >= len(slots):
            self._save_shot()

    def _on_run_finished(self, result: object) -> None:
        if not self.shot_taken and self.screenshot is not None:
            self._save_shot()
        if self.final_screenshot is not None:
            self._save(self.final_screenshot)
        if self.quit_when_done:
            self.exit_code = 0 if getattr(result, "ok", False) else 1
            QTimer.singleShot(0, self.window.close)

    def _save_shot(self) -> None:
        if self.screenshot is None:
            return
        self.shot_taken = True
        self._save(self.screenshot)

    def _save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not self.window.grab().save(str(path)):
            log.error("could not save the screenshot to %s", path)


def run_window(
    backend: StationBackend,
    *,
    language: str | None = None,
    blueprint: Path | None = None,
    autostart: bool = False,
    screenshot: Path | None = None,
    quit_when_done: bool = False,
    first_run: bool = True,
    final_screenshot: Path | None = None,
) -> int:
    """Open the window on ``backend`` until it is closed; returns the exit code."""
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        app = QApplication(sys.argv[:1])
    app.setApplicationName("Enrollment Station")
    translators = install_translators(app, language or default_language())
    bridge = EventBridge()
    runtime = Runtime(backend, bridge)
    try:
        runtime.start()
    except StationError as exc:
        sys.stderr.write(f"station: error: {exc}\n")
        return 2
    window = MainWindow(runtime)
    director = Director(
        window,
        blueprint=blueprint,
        autostart=autostart,
        screenshot=screenshot,
        quit_when_done=quit_when_done,
        final_screenshot=final_screenshot,
    )
    window.resize(*WINDOW_SIZE)
    window.show()
    if first_run and not window.mode.has_pin:
        window.open_first_run()
    try:
        code = app.exec()
    finally:
        runtime.shutdown()
    del translators
    return code or director.exit_code
