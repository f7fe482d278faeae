"""The first-run wizard (station, hub, cart, PIN) and the slot calibration wizard."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from station.jobs.events import EventType, JobEvent
from station.ui.backend import SettingsStore
from station.ui.technician import MIN_PIN, TechnicianMode

STATION_NAME = "ui.station_name"
HUB_URL = "ui.hub_url"
HUB_TOKEN_SECRET = "hub-token"
CART_ROWS = "ui.cart_rows"
CART_COLUMNS = "ui.cart_columns"
SOUND = "ui.sound"

_CONTEXT = "Wizards"


def _t(text: str) -> str:
    return QCoreApplication.translate(_CONTEXT, text)


def _translate_buttons(wizard: QWizard) -> None:
    """Our own words on the wizard's buttons (so they follow the station's language)."""
    words = {
        QWizard.WizardButton.BackButton: _t("< Back"),
        QWizard.WizardButton.NextButton: _t("Next >"),
        QWizard.WizardButton.FinishButton: _t("Finish"),
        QWizard.WizardButton.CancelButton: _t("Cancel"),
        QWizard.WizardButton.CommitButton: _t("Save"),
        QWizard.WizardButton.HelpButton: _t("Help"),
    }
    for button, text in words.items():
        wizard.setButtonText(button, text)


class _PinPage(QWizardPage):
    def __init__(self, mode: TechnicianMode) -> None:
        super().__init__()
        self.mode = mode
        self.setTitle(_t("Technician PIN"))
        self.setSubTitle(
            _t("Settings, blueprints and secrets need this PIN. Helpers can run, retry and print.")
        )
        self.pin = QLineEdit()
        self.again = QLineEdit()
        for edit in (self.pin, self.again):
            edit.setEchoMode(QLineEdit.EchoMode.Password)
            edit.textChanged.connect(self.completeChanged)
        self.note = QLabel(_t("At least 4 digits; leave empty to keep the current PIN."))
        form = QFormLayout(self)
        form.addRow(_t("PIN"), self.pin)
        form.addRow(_t("PIN again"), self.again)
        form.addRow(self.note)

    def isComplete(self) -> bool:
        pin = self.pin.text()
        if not pin:
            return self.mode.has_pin
        return len(pin) >= MIN_PIN and pin.isdigit() and pin == self.again.text()


class FirstRunWizard(QWizard):
    """Station name, hub URL and token, cart layout, technician PIN; then calibration.

    Signals:
        secret_entered(str, str): a secret to store (name, value), e.g. the hub token.
    """

    secret_entered = Signal(str, str)

    def __init__(
        self, settings: SettingsStore, mode: TechnicianMode, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.settings = settings
        self.mode = mode
        self.setObjectName("first-run-wizard")
        self.setWindowTitle(_t("Set up the station"))
        _translate_buttons(self)

        station = QWizardPage()
        station.setTitle(_t("Station"))
        station.setSubTitle(_t("A name people recognise, e.g. the room the cart stands in."))
        self.name = QLineEdit(settings.get_setting(STATION_NAME) or "")
        QFormLayout(station).addRow(_t("Station name"), self.name)
        self.addPage(station)

        hub = QWizardPage()
        hub.setTitle(_t("Hub"))
        hub.setSubTitle(_t("Where the station reports its devices (leave empty to work alone)."))
        self.hub_url = QLineEdit(settings.get_setting(HUB_URL) or "")
        self.hub_url.setPlaceholderText("https://hub.example.org")
        self.hub_token = QLineEdit()
        self.hub_token.setEchoMode(QLineEdit.EchoMode.Password)
        self.hub_token.setPlaceholderText(_t("unchanged"))
        form = QFormLayout(hub)
        form.addRow(_t("Hub address"), self.hub_url)
        form.addRow(_t("Hub token"), self.hub_token)
        self.addPage(hub)

        cart = QWizardPage()
        cart.setTitle(_t("Cart"))
        cart.setSubTitle(_t("How the slots are arranged on the cart, seen from the front."))
        self.rows = QSpinBox()
        self.rows.setRange(1, 20)
        self.rows.setValue(int(settings.get_setting(CART_ROWS) or 5))
        self.columns = QSpinBox()
        self.columns.setRange(1, 20)
        self.columns.setValue(int(settings.get_setting(CART_COLUMNS) or 6))
        self.calibrate = QCheckBox(_t("Calibrate the slots next (plug a tablet into each slot)"))
        self.calibrate.setChecked(True)
        form = QFormLayout(cart)
        form.addRow(_t("Rows"), self.rows)
        form.addRow(_t("Columns"), self.columns)
        form.addRow(self.calibrate)
        self.addPage(cart)

        self.pin_page = _PinPage(mode)
        self.addPage(self.pin_page)

    def accept(self) -> None:
        """Save everything (the token goes to the secret store, the PIN only hashed)."""
        self.settings.set_setting(STATION_NAME, self.name.text().strip())
        self.settings.set_setting(HUB_URL, self.hub_url.text().strip())
        self.settings.set_setting(CART_ROWS, str(self.rows.value()))
        self.settings.set_setting(CART_COLUMNS, str(self.columns.value()))
        if self.hub_token.text():
            self.secret_entered.emit(HUB_TOKEN_SECRET, self.hub_token.text())
        if self.pin_page.pin.text():
            self.mode.set_pin(self.pin_page.pin.text())
        super().accept()


class CalibrationWizard(QDialog):
    """Plug a tablet into slot 1, 2, ... in turn: each new USB port becomes the next slot.

    Feed it the bridge's event batches (:meth:`on_events`); it only reads DEVICE events.

    Signals:
        calibrated(dict): hub port -> slot number, when the person finished.
    """

    calibrated = Signal(dict)

    def __init__(self, slots: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("calibration-wizard")
        self.setWindowTitle(_t("Calibrate the slots"))
        self.total = slots
        self.ports: dict[str, int] = {}
        self.known: set[str] = set()
        self.prompt = QLabel()
        font = QFont(self.prompt.font())
        font.setPointSizeF(22)
        font.setBold(True)
        self.prompt.setFont(font)
        self.prompt.setWordWrap(True)
        self.progress = QLabel()
        skip = QPushButton(_t("Skip this slot"))
        undo = QPushButton(_t("Back one slot"))
        self.finish_button = QPushButton(_t("Finish"))
        cancel = QPushButton(_t("Cancel"))
        skip.clicked.connect(self._on_skip_clicked)
        undo.clicked.connect(self._on_undo_clicked)
        self.finish_button.clicked.connect(self._on_finish_clicked)
        cancel.clicked.connect(self.reject)
        row = QHBoxLayout()
        for button in (skip, undo, self.finish_button, cancel):
            row.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(
            QLabel(_t("Start with every slot empty. Plug one tablet at a time, in slot order."))
        )
        layout.addWidget(self.prompt)
        layout.addWidget(self.progress)
        layout.addLayout(row)
        self.slot = 1
        self._show()

    def _show(self) -> None:
        if self.slot > self.total:
            self.prompt.setText(_t("All slots are calibrated. Press Finish."))
        else:
            self.prompt.setText(_t("Plug a tablet into slot %1").replace("%1", str(self.slot)))
        self.progress.setText(
            _t("%1 of %2 slots calibrated")
            .replace("%1", str(len(self.ports)))
            .replace("%2", str(self.total))
        )

    def on_events(self, events: list[JobEvent]) -> None:
        for event in events:
            if event.type is not EventType.DEVICE or event.state != "attached":
                continue
            port = (event.port or "").removeprefix("usb:")
            if not port or port in self.known or self.slot > self.total:
                continue
            self.known.add(port)
            self.ports[port] = self.slot
            self.slot += 1
        self._show()

    def _on_skip_clicked(self) -> None:
        if self.slot <= self.total:
            self.slot += 1
        self._show()

    def _on_undo_clicked(self) -> None:
        if self.slot > 1:
            self.slot -= 1
            for port, number in list(self.ports.items()):
                if number == self.slot:
                    del self.ports[port]
                    self.known.discard(port)
        self._show()

    def _on_finish_clicked(self) -> None:
        self.calibrated.emit(dict(self.ports))
        self.accept()
