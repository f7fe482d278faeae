"""Technician mode behind a PIN for settings, blueprints and secrets; helpers run, retry, print."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable

from PySide6.QtCore import QCoreApplication, QObject, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from station.errors import InputError
from station.labels.printer_setting import BROTHER, ZPL, ZPL_DOTS_PER_MM, PrinterSetting
from station.ui.backend import SettingsStore
from station.ui.label_printer import read_setting, write_setting
from station.ui.texts import error_text, hint_text

PIN_SETTING = "ui.technician_pin"
# scrypt cost: ~16 MiB and a noticeable fraction of a second, so a copied database does not
# give the PIN away to a quick search of all 4-8 digit PINs.
_N, _R, _P = 2**14, 8, 1
MIN_PIN = 4
_SECRET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")

_CONTEXT = "Technician"


def _t(text: str) -> str:
    return QCoreApplication.translate(_CONTEXT, text)


def hash_pin(pin: str, *, salt: bytes | None = None) -> str:
    """``scrypt$N$r$p$salt$hash`` (hex); the PIN itself is never stored."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${digest.hex()}"


def check_pin(pin: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        got = hashlib.scrypt(
            pin.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=32
        )
    except ValueError:
        return False
    return hmac.compare_digest(got.hex(), digest)


class TechnicianMode(QObject):
    """Whether the technician is signed in; every technician action asks :meth:`allowed`.

    Signals:
        changed(bool): True when technician mode was entered, False when left.
        refused(str): a technician action was refused in helper mode (its name).
    """

    changed = Signal(bool)
    refused = Signal(str)

    def __init__(self, settings: SettingsStore, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.active = False

    @property
    def has_pin(self) -> bool:
        return bool(self.settings.get_setting(PIN_SETTING))

    def set_pin(self, pin: str) -> None:
        if len(pin) < MIN_PIN or not pin.isdigit():
            raise ValueError("the PIN must be at least 4 digits")
        self.settings.set_setting(PIN_SETTING, hash_pin(pin))

    def enter(self, pin: str) -> bool:
        stored = self.settings.get_setting(PIN_SETTING)
        if not stored or not check_pin(pin, stored):
            return False
        self.active = True
        self.changed.emit(True)
        return True

    def begin_setup_session(self) -> None:
        """Sign in the technician who has just set the PIN in the setup wizard."""
        if self.has_pin and not self.active:
            self.active = True
            self.changed.emit(True)

    def leave(self) -> None:
        if self.active:
            self.active = False
            self.changed.emit(False)

    def allowed(self, action: str) -> bool:
        """True in technician mode; otherwise says no (and emits ``refused``)."""
        if self.active:
            return True
        self.refused.emit(action)
        return False


def _save_and_cancel(
    dialog: QDialog, on_save: Callable[[], object], *, save_name: str = ""
) -> QHBoxLayout:
    """The dialog's Save and Cancel buttons, right-aligned in a row."""
    save = QPushButton(_t("Save"))
    if save_name:
        save.setObjectName(save_name)
    cancel = QPushButton(_t("Cancel"))
    save.clicked.connect(on_save)
    cancel.clicked.connect(dialog.reject)
    row = QHBoxLayout()
    row.addStretch(1)
    row.addWidget(save)
    row.addWidget(cancel)
    return row


class PinDialog(QDialog):
    """Asks for the technician PIN (digits, hidden)."""

    def __init__(self, mode: TechnicianMode, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.mode = mode
        self.setObjectName("pin-dialog")
        self.setWindowTitle(_t("Technician mode"))
        self.edit = QLineEdit()
        self.edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.edit.setPlaceholderText(_t("PIN"))
        self.message = QLabel(_t("Enter the technician PIN."))
        ok = QPushButton(_t("Sign in"))
        cancel = QPushButton(_t("Cancel"))
        ok.setDefault(True)
        ok.clicked.connect(self._on_ok_clicked)
        cancel.clicked.connect(self.reject)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(ok)
        row.addWidget(cancel)
        layout = QVBoxLayout(self)
        layout.addWidget(self.message)
        layout.addWidget(self.edit)
        layout.addLayout(row)

    def _on_ok_clicked(self) -> None:
        if self.mode.enter(self.edit.text()):
            self.accept()
            return
        self.edit.clear()
        self.message.setText(_t("Wrong PIN. Try again."))


class SecretDialog(QDialog):
    """The technician stores a secret a blueprint names (a Wi-Fi password, a token).

    The value goes to the station's secret store through the runtime; the window keeps no copy.

    Signals:
        secret_entered(str, str): name and value.
    """

    secret_entered = Signal(str, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("secret-dialog")
        self.setWindowTitle(_t("Store a secret"))
        self.name = QLineEdit()
        self.name.setPlaceholderText(_t("name, as the blueprint writes it"))
        self.value = QLineEdit()
        self.value.setEchoMode(QLineEdit.EchoMode.Password)
        self.value.setPlaceholderText(_t("value"))
        self.message = QLabel(_t("Blueprints name their secrets; the values stay on the station."))
        self.message.setWordWrap(True)
        row = _save_and_cancel(self, self._on_save_clicked)
        layout = QVBoxLayout(self)
        layout.addWidget(self.message)
        layout.addWidget(self.name)
        layout.addWidget(self.value)
        layout.addLayout(row)

    def _on_save_clicked(self) -> None:
        name, value = self.name.text().strip(), self.value.text()
        if not _SECRET_NAME.fullmatch(name) or not value:
            self.message.setText(_t("Give a name (letters, digits, '-', '_', '.') and a value."))
            return
        self.secret_entered.emit(name, value)
        self.value.clear()
        self.accept()


class LabelPrinterDialog(QDialog):
    """The technician sets the label printer: kind, address (as ``station labels --printer``),
    label; checked on Save with the same parsing the CLI uses.

    ``check`` builds the printer's queue from a setting (nothing is sent) and raises
    InputError when the setting names no printer.
    """

    def __init__(
        self,
        settings: SettingsStore,
        check: Callable[[PrinterSetting], object],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.settings = settings
        self.check = check
        self.setObjectName("label-printer-dialog")
        self.setWindowTitle(_t("Label printer"))
        self.kind = QComboBox()
        self.kind.addItem(_t("None: print on paper with the print dialog"), "")
        self.kind.addItem(_t("Brother QL (raster)"), BROTHER)
        self.kind.addItem(_t("Zebra (ZPL)"), ZPL)
        self.address = QLineEdit()
        self.address.setPlaceholderText(_t("usb://0x04f9:0x209d or tcp://192.0.2.40:9100"))
        self.label = QLineEdit()
        self.label.setPlaceholderText(_t("Brother: 62 or 29x90; Zebra: 50x25 (mm)"))
        self.dpmm = QComboBox()
        for dots in ZPL_DOTS_PER_MM:
            self.dpmm.addItem(str(dots), dots)
        self.message = QLabel(_t("Labels go straight to this printer; Retry prints kept ones."))
        self.message.setObjectName("label-printer-message")
        self.message.setWordWrap(True)
        current = read_setting(settings)
        if current is not None:
            self.kind.setCurrentIndex(max(0, self.kind.findData(current.kind)))
            self.address.setText(current.address)
            self.label.setText(current.label)
            self.dpmm.setCurrentIndex(max(0, self.dpmm.findData(current.dots_per_mm)))
        else:
            self.dpmm.setCurrentIndex(self.dpmm.findData(8))
        form = QFormLayout()
        form.addRow(_t("Printer"), self.kind)
        form.addRow(_t("Address"), self.address)
        form.addRow(_t("Label"), self.label)
        form.addRow(_t("Zebra dots per mm"), self.dpmm)
        row = _save_and_cancel(self, self._on_save_clicked, save_name="label-printer-save")
        layout = QVBoxLayout(self)
        layout.addWidget(self.message)
        layout.addLayout(form)
        layout.addLayout(row)

    def chosen(self) -> PrinterSetting | None:
        kind = str(self.kind.currentData() or "")
        if not kind:
            return None
        return PrinterSetting(
            kind,
            self.address.text().strip(),
            self.label.text().strip(),
            int(self.dpmm.currentData()),
        )

    def save(self) -> bool:
        """Check and store the setting; False (and the reason shown) when it is not a printer."""
        setting = self.chosen()
        if setting is not None:
            try:
                self.check(setting)
            except InputError as exc:
                text = error_text(exc.message)
                if exc.hint:
                    text += " " + hint_text(exc.hint)
                self.message.setText(text)
                return False
        write_setting(self.settings, setting)
        return True

    def _on_save_clicked(self) -> None:
        if self.save():
            self.accept()
