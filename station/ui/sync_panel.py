"""Sync status in the window: what waits to be sent, since when, what last worked, what failed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from PySide6.QtCore import QCoreApplication, QTimer
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from station.sync.status import SyncStatus
from station.ui.texts import error_text

REFRESH_MS = 5000

_CONTEXT = "SyncPanel"


def _t(text: str) -> str:
    return QCoreApplication.translate(_CONTEXT, text)


def _ago(value: dt.datetime | None, now: dt.datetime) -> str:
    if value is None:
        return _t("never")
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    seconds = max(0, int((now - value).total_seconds()))
    if seconds < 120:
        return _t("%1 s ago").replace("%1", str(seconds))
    if seconds < 7200:
        return _t("%1 min ago").replace("%1", str(seconds // 60))
    if seconds < 172800:
        return _t("%1 h ago").replace("%1", str(seconds // 3600))
    return _t("%1 days ago").replace("%1", str(seconds // 86400))


class SyncPanel(QWidget):
    """Shows the last ``SyncStatus``; its named timer asks for a fresh one every few seconds.

    The request goes to the runtime's loop thread (``request``); the answer arrives through
    the bridge's ``sync_status`` signal, so the GUI thread never reads the store itself.
    """

    def __init__(
        self, request: Callable[[], None], parent: QWidget | None = None, interval: int = REFRESH_MS
    ) -> None:
        super().__init__(parent)
        self.setObjectName("sync-panel")
        self.status: SyncStatus | None = None
        self.summary = QLabel(_t("Sync: not read yet"))
        self.summary.setObjectName("sync-summary")
        self.summary.setWordWrap(True)
        self.error = QLabel()
        self.error.setObjectName("sync-error")
        self.error.setWordWrap(True)
        self.error.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.summary)
        layout.addWidget(self.error)
        self.timer = QTimer(self)
        self.timer.setObjectName("sync-status-timer")
        self.timer.setInterval(interval)
        self.timer.timeout.connect(request)
        self._request = request

    def start(self) -> None:
        self._request()
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def show_status(self, status: SyncStatus, now: dt.datetime | None = None) -> None:
        self.status = status
        now = now or dt.datetime.now(dt.UTC)
        oldest = _ago(status.oldest_pending, now) if status.pending else "–"
        self.summary.setText(
            _t("Sync: %1 waiting (oldest %2), last success %3, %4 need a person")
            .replace("%1", str(status.pending))
            .replace("%2", oldest)
            .replace("%3", _ago(status.last_success, now))
            .replace("%4", str(status.dead))
        )
        if status.last_error:
            self.error.setText(
                _t("Last sync error (%1): %2")
                .replace("%1", _ago(status.last_error_at, now))
                .replace("%2", error_text(status.last_error))
            )
            self.error.show()
        else:
            self.error.clear()
            self.error.hide()
