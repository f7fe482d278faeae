"""One device up close: identity, a timeline of steps with durations, log lines, error, retry."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QLocale, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from station.jobs.events import JobState
from station.ui.models import SlotState
from station.ui.texts import (
    EMPTY,
    detail_text,
    event_line,
    hint_text,
    platform_word,
    state_word,
    status_word,
    step_label,
)

_CONTEXT = "DeviceDetail"


def _t(text: str) -> str:
    return QCoreApplication.translate(_CONTEXT, text)


class DeviceDetail(QWidget):
    """Shows one slot; its buttons send commands, it never changes a job itself.

    Signals:
        retry_requested(str): the job key.
        cancel_requested(str): the job key.
    """

    retry_requested = Signal(str)
    cancel_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("device-detail")
        self.state: SlotState | None = None
        self.identity = QGroupBox(_t("Device"))
        form = QFormLayout(self.identity)
        self.slot_label = QLabel()
        self.platform_label = QLabel()
        self.serial_label = QLabel()
        self.tag_label = QLabel()
        self.port_label = QLabel()
        self.state_label = QLabel()
        form.addRow(_t("Slot"), self.slot_label)
        form.addRow(_t("Platform"), self.platform_label)
        form.addRow(_t("Serial number"), self.serial_label)
        form.addRow(_t("Asset tag"), self.tag_label)
        form.addRow(_t("USB port"), self.port_label)
        form.addRow(_t("State"), self.state_label)
        self.error_label = QLabel()
        self.error_label.setObjectName("device-error")
        self.error_label.setWordWrap(True)
        self.timeline = QTreeWidget()
        self.timeline.setObjectName("timeline")
        self.timeline.setHeaderLabels([_t("Step"), _t("Result"), _t("Seconds")])
        self.timeline.setRootIsDecorated(False)
        self.log_view = QPlainTextEdit()
        self.log_view.setObjectName("device-log")
        self.log_view.setReadOnly(True)
        self.log_view.setMaximumBlockCount(300)
        self.retry_button = QPushButton(_t("Retry"))
        self.cancel_button = QPushButton(_t("Cancel"))
        self.retry_button.clicked.connect(self._on_retry_clicked)
        self.cancel_button.clicked.connect(self._on_cancel_clicked)
        buttons = QHBoxLayout()
        buttons.addWidget(self.retry_button)
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.identity)
        layout.addWidget(self.error_label)
        layout.addLayout(buttons)
        layout.addWidget(QLabel(_t("Steps")))
        layout.addWidget(self.timeline, 2)
        layout.addWidget(QLabel(_t("Log")))
        layout.addWidget(self.log_view, 1)
        self.show_state(None)

    def show_state(self, state: SlotState | None) -> None:
        """Fill the panel from a slot (None: nothing chosen)."""
        self.state = state
        if state is None or not state.job:
            for label in (self.serial_label, self.tag_label, self.port_label):
                label.setText("–")
            self.slot_label.setText(str(state.slot) if state and state.slot else "–")
            self.platform_label.setText("–")
            self.state_label.setText(state_word(EMPTY))
            self.error_label.setText(_t("Choose a slot to see its device."))
            self.timeline.clear()
            self.log_view.clear()
            self.retry_button.setEnabled(False)
            self.cancel_button.setEnabled(False)
            return
        self.slot_label.setText(str(state.slot) if state.slot else _t("not calibrated"))
        self.platform_label.setText(platform_word(state.platform))
        self.serial_label.setText(state.serial or "–")
        self.tag_label.setText(state.asset_tag or "–")
        self.port_label.setText(state.port or "–")
        words = state_word(state.state)
        if state.step and state.state in (JobState.RUNNING, JobState.NEEDS_PERSON, JobState.PAUSED):
            words += f" · {step_label(state.step)}"
        self.state_label.setText(words)
        error = ""
        if state.state == JobState.FAILED:
            error = _t("Error: %1").replace("%1", detail_text(state.detail))
        if state.action:
            todo = _t("What to do: %1").replace("%1", hint_text(state.hint))
            error = f"{error}\n{todo}" if error else todo
        self.error_label.setText(error)
        self.timeline.clear()
        for entry in state.timeline:
            seconds = entry.seconds
            QTreeWidgetItem(
                self.timeline,
                [
                    step_label(entry.step),
                    status_word(entry.status),
                    # In the locale's digits (a decimal comma in German).
                    QLocale().toString(seconds, "f", 1) if seconds is not None else "…",
                ],
            )
        self.log_view.setPlainText("\n".join(event_line(e) for e in state.log))
        final = state.state in (JobState.DONE, JobState.FAILED, JobState.CANCELLED)
        self.retry_button.setEnabled(state.state in (JobState.FAILED, JobState.CANCELLED))
        self.cancel_button.setEnabled(not final and state.state != EMPTY)

    def _on_retry_clicked(self) -> None:
        if self.state is not None and self.state.job:
            self.retry_requested.emit(self.state.job)

    def _on_cancel_clicked(self) -> None:
        if self.state is not None and self.state.job:
            self.cancel_requested.emit(self.state.job)
