"""The Android enrollment QR, full-screen, for tablets to scan in their setup wizard."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtGui import QPixmap, QResizeEvent
from PySide6.QtWidgets import QDialog, QLabel, QPushButton, QVBoxLayout, QWidget

from station.errors import StationError
from station.ui.texts import error_text, hint_text

_CONTEXT = "AndroidQr"


def _t(text: str) -> str:
    return QCoreApplication.translate(_CONTEXT, text)


class AndroidQrDialog(QDialog):
    """The provisioning QR as large as the screen allows, or what is missing to make it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("android-qr")
        self.setWindowTitle(_t("Android enrollment QR"))
        self.setStyleSheet("QDialog { background: white; } QLabel { color: black; }")
        self.pixmap = QPixmap()
        self.payload = ""
        self.help = QLabel(
            _t("On each new tablet: tap the welcome screen six times, then scan this code.")
        )
        self.help.setObjectName("android-qr-help")
        self.help.setWordWrap(True)
        self.help.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.code = QLabel()
        self.code.setObjectName("android-qr-code")
        self.code.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.code.setMinimumSize(200, 200)
        close = QPushButton(_t("Close"))
        close.clicked.connect(self.accept)
        layout = QVBoxLayout(self)
        layout.addWidget(self.help)
        layout.addWidget(self.code, 1)
        layout.addWidget(close, 0, Qt.AlignmentFlag.AlignCenter)

    def show_code(self, png: bytes, payload: str) -> None:
        """Show the QR (PNG with its quiet zone), scaled without smoothing to stay sharp."""
        self.payload = payload
        self.pixmap = QPixmap()
        self.pixmap.loadFromData(png, "PNG")
        self._fit()

    def show_problem(self, error: StationError) -> None:
        """Say what the technician must set before tablets can be enrolled this way."""
        self.pixmap = QPixmap()
        self.payload = ""
        self.code.clear()
        text = _t("The enrollment QR cannot be made: %1").replace("%1", error_text(error.message))
        if error.hint:
            text += "\n" + _t("What to do: %1").replace("%1", hint_text(error.hint))
        self.help.setText(text)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        if self.pixmap.isNull():
            return
        side = max(1, min(self.code.width(), self.code.height()))
        # Whole multiples of the PNG's pixels: every module stays square and sharp.
        factor = max(1, side // max(1, self.pixmap.width()))
        shown = self.pixmap.scaled(
            self.pixmap.width() * factor,
            self.pixmap.height() * factor,
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.FastTransformation,
        )
        self.code.setPixmap(shown)
