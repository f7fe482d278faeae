"""Sound and attention: a banner and an audible cue when the cart is done or needs a person."""

from __future__ import annotations

from typing import ClassVar

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import QApplication, QLabel, QWidget

_CONTEXT = "Attention"


def _t(text: str) -> str:
    return QCoreApplication.translate(_CONTEXT, text)


class AttentionBanner(QLabel):
    """One line across the window; says what needs doing, with an icon, a word and a colour."""

    STYLES: ClassVar[dict[str, str]] = {
        "person": "background:#E69F00;color:#000;",
        "done": "background:#009E73;color:#fff;",
        "failed": "background:#D55E00;color:#fff;",
        "problem": "background:#D55E00;color:#fff;",
    }

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("attention-banner")
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setWordWrap(True)
        font = self.font()
        font.setPointSizeF(18)
        font.setBold(True)
        self.setFont(font)
        self.sound = True
        self.beeps = 0  # how many cues were given (tests read it)
        self.kind = ""
        self.hide()

    def announce(self, kind: str, text: str, *, cue: bool = True) -> None:
        """Show ``text``; with ``cue`` (and sound on) also beep once."""
        glyph = {"person": "⚠", "done": "✔", "failed": "✖", "problem": "⚡"}.get(kind, "")
        self.kind = kind
        self.setText(f"{glyph} {text}".strip())
        self.setStyleSheet(f"QLabel#attention-banner {{{self.STYLES.get(kind, '')} padding:8px;}}")
        self.show()
        if cue and self.sound:
            self.beeps += 1
            QApplication.beep()

    def clear_banner(self) -> None:
        self.kind = ""
        self.setText("")
        self.hide()
