"""Run control: choose a blueprint (checked on load, problems shown by file and key), start."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QCoreApplication, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from station.blueprint import Blueprint, InvalidBlueprint
from station.errors import ArtifactError, BlueprintError, StationError
from station.ui.texts import hint_text, message_text

_CONTEXT = "RunControl"


def _t(text: str) -> str:
    return QCoreApplication.translate(_CONTEXT, text)


class RunControl(QGroupBox):
    """The run's buttons; it asks, the window decides and the runtime does.

    Signals:
        load_requested(object): a blueprint path to check.
        open_requested(): the technician wants to pick a blueprint file.
        start_requested(object): the checked blueprint's path.
        stop_requested(): stop the run.
    """

    load_requested = Signal(object)
    open_requested = Signal()
    start_requested = Signal(object)
    stop_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(_t("Run"), parent)
        self.setObjectName("run-control")
        self.blueprint: Blueprint | None = None
        self.path: Path | None = None
        self.running = False
        self.chooser = QComboBox()
        self.chooser.setObjectName("blueprint-chooser")
        self.chooser.setToolTip(_t("The blueprint for this cart"))
        self.chooser.activated.connect(self._on_chooser_activated)
        self.open_button = QPushButton(_t("Open blueprint…"))
        self.open_button.clicked.connect(self.open_requested)
        self.start_button = QPushButton(_t("Start"))
        self.start_button.setObjectName("start")
        self.stop_button = QPushButton(_t("Stop"))
        self.stop_button.setObjectName("stop")
        self.start_button.clicked.connect(self._on_start_clicked)
        self.stop_button.clicked.connect(self.stop_requested)
        self.status = QLabel(_t("Choose a blueprint."))
        self.status.setObjectName("blueprint-status")
        self.status.setWordWrap(True)
        self.problems = QListWidget()
        self.problems.setObjectName("blueprint-problems")
        self.problems.setWordWrap(True)
        self.problems.hide()
        self.summary = QLabel()
        self.summary.setObjectName("run-summary")
        self.summary.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(QLabel(_t("Blueprint")))
        top.addWidget(self.chooser, 1)
        top.addWidget(self.open_button)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.stop_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.status)
        layout.addWidget(self.problems)
        layout.addLayout(buttons)
        layout.addWidget(self.summary)
        self._update_buttons()

    def set_blueprints(self, paths: Sequence[Path]) -> None:
        self.chooser.clear()
        for path in paths:
            self.chooser.addItem(path.name, path)
        self.chooser.setCurrentIndex(-1)

    def choose(self, path: Path) -> None:
        """Select (adding it if new) and check a blueprint."""
        index = self.chooser.findData(path)
        if index < 0:
            self.chooser.addItem(path.name, path)
            index = self.chooser.count() - 1
        self.chooser.setCurrentIndex(index)
        self._request(path)

    def _on_chooser_activated(self, index: int) -> None:
        path = self.chooser.itemData(index)
        if isinstance(path, Path):
            self._request(path)

    def _request(self, path: Path) -> None:
        self.blueprint = None
        self.path = path
        self.status.setText(_t("Checking %1 …").replace("%1", path.name))
        self.problems.clear()
        self.problems.hide()
        self._update_buttons()
        self.load_requested.emit(path)

    def show_loaded(self, path: Path, blueprint: Blueprint) -> None:
        if path != self.path:
            return
        self.blueprint = blueprint
        self.status.setText(_t("Ready: %1").replace("%1", blueprint.name))
        self.problems.clear()
        self.problems.hide()
        self._update_buttons()

    def show_failed(self, path: Path, error: StationError) -> None:
        """List every problem, each with its file, line and key."""
        self.blueprint = None
        self.path = path
        self.problems.clear()
        if isinstance(error, InvalidBlueprint):
            self.status.setText(
                _t("%1 has %2 problems; fix them and choose it again. No device was touched.")
                .replace("%1", path.name)
                .replace("%2", str(len(error.issues)))
            )
            for issue in error.issues:
                where = f"{issue.file}:{issue.line}" if issue.line else issue.file
                problem = _words(issue.problem)
                text = f"{where}  {issue.key}: {problem}" if issue.key else f"{where}: {problem}"
                if issue.expected:
                    text += "\n" + _t("expected: %1").replace("%1", _words(issue.expected))
                if issue.hint:
                    text += "\n" + _t("hint: %1").replace("%1", hint_text(issue.hint))
                self.problems.addItem(text)
        else:
            self.status.setText(_t("%1 cannot be used.").replace("%1", path.name))
            self.problems.addItem(_error_words(error))
            if error.hint:
                self.problems.addItem(_t("What to do: %1").replace("%1", hint_text(error.hint)))
        self.problems.show()
        self._update_buttons()

    def set_running(self, running: bool) -> None:
        self.running = running
        self._update_buttons()

    def show_summary(self, text: str) -> None:
        self.summary.setText(text)

    def _on_start_clicked(self) -> None:
        if self.blueprint is not None and self.path is not None and not self.running:
            self.start_requested.emit(self.path)

    def _update_buttons(self) -> None:
        self.start_button.setEnabled(self.blueprint is not None and not self.running)
        self.stop_button.setEnabled(self.running)
        self.chooser.setEnabled(not self.running)


def _words(text: str) -> str:
    """A core message in the window's language (data in it, such as a file name, as is)."""
    return message_text(text) or text


def _error_words(error: StationError) -> str:
    """An error's message with its place (a file, a blueprint key) kept as data."""
    if isinstance(error, ArtifactError):
        return f"{error.path}: {_words(error.problem)}"
    if isinstance(error, BlueprintError):
        return f"{error.location}: {_words(error.problem)}"
    return _words(error.message)
