"""The window's label printer: its setting, and printing through the print queue off the GUI."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from station.errors import PrinterError, StationError
from station.labels.model import LabelData
from station.labels.printer_setting import PrinterSetting
from station.labels.queue import PartlyPrinted, PrintQueue
from station.ui.backend import SettingsStore

log = logging.getLogger("station.ui.label_printer")

# The station's settings (the store's settings table, like every other window setting).
PRINTER_KIND = "labels.printer.kind"  # "brother", "zpl", or "" / unset: no label printer
PRINTER_ADDRESS = "labels.printer.address"  # as the CLI's --printer
PRINTER_LABEL = "labels.printer.label"  # Brother tape name, or the Zebra label WxH in mm
PRINTER_DPMM = "labels.printer.dpmm"  # Zebra print head dots per mm

QueueFactory = Callable[[PrinterSetting], PrintQueue]


def read_setting(settings: SettingsStore) -> PrinterSetting | None:
    """The label printer the station is set up for; None when none is set."""
    kind = settings.get_setting(PRINTER_KIND) or ""
    address = settings.get_setting(PRINTER_ADDRESS) or ""
    if not kind or not address:
        return None
    dpmm = settings.get_setting(PRINTER_DPMM) or "8"
    return PrinterSetting(
        kind,
        address,
        settings.get_setting(PRINTER_LABEL) or "",
        int(dpmm) if dpmm.isdigit() else 0,
    )


def write_setting(settings: SettingsStore, setting: PrinterSetting | None) -> None:
    """Store ``setting`` (None: no label printer, the print dialog only)."""
    if setting is None:
        settings.set_setting(PRINTER_KIND, "")
        return
    settings.set_setting(PRINTER_KIND, setting.kind)
    settings.set_setting(PRINTER_ADDRESS, setting.address.strip())
    settings.set_setting(PRINTER_LABEL, setting.label.strip())
    settings.set_setting(PRINTER_DPMM, str(setting.dots_per_mm))


@dataclass
class PrintOutcome:
    """What one press of Print or Retry did, for the window to say.

    ``printed_keys``: the window's jobs whose labels came out; ``error``: why the rest did
    not (they stay queued); ``pending_labels``: labels still waiting in the queue.
    """

    printer: str
    printed: int = 0
    printed_keys: list[str] = field(default_factory=list)
    error: StationError | None = None
    pending_jobs: int = 0
    pending_labels: int = 0


class _Task(QRunnable):
    def __init__(self, work: Callable[[], None]) -> None:
        super().__init__()
        self._work = work

    def run(self) -> None:
        self._work()


class LabelPrinterControl(QObject):
    """Sends labels to the station's label printer through its :class:`PrintQueue`.

    The queue's socket/USB I/O runs on a one-thread pool (jobs print in order, never two at
    once); the outcome comes back as ``finished`` on the GUI thread (queued signal). Which
    window jobs each queued job holds is remembered, so a retry that prints them (or part of
    them) counts exactly those as printed.

    Signals:
        finished(object): a :class:`PrintOutcome`.
    """

    finished = Signal(object)

    def __init__(
        self, settings: SettingsStore, make_queue: QueueFactory, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.settings = settings
        self.make_queue = make_queue
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self.busy = False
        self._keys: dict[str, list[str]] = {}  # queued job id -> window job key per label
        self.finished.connect(self._on_finished)

    @property
    def setting(self) -> PrinterSetting | None:
        return read_setting(self.settings)

    def queue(self) -> PrintQueue | None:
        """The queue of the printer set now; None when none is set.

        Raises:
            InputError: the stored setting names no printer.
        """
        setting = self.setting
        return self.make_queue(setting) if setting is not None else None

    def print_labels(self, labels: Sequence[LabelData], keys: Sequence[str]) -> None:
        """Queue ``labels`` (``keys[i]`` is the window job of ``labels[i]``) and print them,
        after whatever the queue still holds."""
        queue = self.queue()
        if queue is None:
            return
        self._start(lambda: self._print(queue, list(labels), list(keys)))

    def retry(self) -> None:
        """Print what the queue holds (the printer is back, the roll changed)."""
        queue = self.queue()
        if queue is None:
            return
        self._start(lambda: self._retry(queue))

    def pending_labels(self) -> int:
        """Labels waiting in the queue (reads the queue's folder: quick)."""
        queue = self.queue()
        return sum(len(job.labels) for job in queue.pending()) if queue is not None else 0

    def wait(self, msecs: int = 60_000) -> bool:
        """Wait for the worker (closing the window, tests)."""
        return self.pool.waitForDone(msecs)

    def _start(self, work: Callable[[], None]) -> None:
        self.busy = True
        self.pool.start(_Task(work))

    def _on_finished(self, _outcome: PrintOutcome) -> None:
        self.busy = False

    # --- the worker thread ----------------------------------------------------------------

    def _guarded(self, queue: PrintQueue, work: Callable[[PrintOutcome], None]) -> None:
        outcome = PrintOutcome(queue.printer.name)
        try:
            work(outcome)
        except StationError as exc:  # a folder that cannot be written, no labels
            outcome.error = exc
        except Exception as exc:
            # Boundary: the worker thread's last stop; the window must still hear the end.
            log.exception("printing on %s failed", queue.printer.name)
            outcome.error = StationError(repr(exc))
        try:
            pending = queue.pending()
        except OSError as exc:
            log.error("cannot read the print queue %s: %s", queue.folder, exc)
            pending = []
        outcome.pending_jobs = len(pending)
        outcome.pending_labels = sum(len(job.labels) for job in pending)
        self.finished.emit(outcome)

    def _print(self, queue: PrintQueue, labels: list[LabelData], keys: list[str]) -> None:
        def work(outcome: PrintOutcome) -> None:
            try:
                self._retry_into(queue, outcome)
            except PrinterError as exc:
                outcome.error = exc  # the new labels are still queued, behind the old ones
            before = {job.id for job in queue.pending()}
            try:
                queue.submit(labels)
            except PrinterError as exc:
                outcome.error = exc
                done = exc.printed if isinstance(exc, PartlyPrinted) else 0
                outcome.printed += done
                outcome.printed_keys += keys[:done]
                for job in queue.pending():
                    if job.id not in before:
                        self._keys[job.id] = keys[done:]
                return
            outcome.printed += len(labels)
            outcome.printed_keys += keys

        self._guarded(queue, work)

    def _retry(self, queue: PrintQueue) -> None:
        def work(outcome: PrintOutcome) -> None:
            try:
                self._retry_into(queue, outcome)
            except PrinterError as exc:
                outcome.error = exc

        self._guarded(queue, work)

    def _retry_into(self, queue: PrintQueue, outcome: PrintOutcome) -> None:
        """Print what the queue holds; count what came out (also part-way) and re-raise."""
        before = {job.id: len(job.labels) for job in queue.pending()}
        if not before:
            return
        try:
            printed = queue.retry_pending()
        except PrinterError as exc:
            left = [job.id for job in queue.pending()]
            for job_id, count in before.items():
                if job_id not in left:
                    outcome.printed += count
                    outcome.printed_keys += self._keys.pop(job_id, [])
            if isinstance(exc, PartlyPrinted) and left:
                stuck = left[0]  # the oldest left is the one that stopped part-way
                keys = self._keys.get(stuck, [])
                outcome.printed += exc.printed
                outcome.printed_keys += keys[: exc.printed]
                self._keys[stuck] = keys[exc.printed :]
            raise
        for job in printed:
            outcome.printed += len(job.labels)
            outcome.printed_keys += self._keys.pop(job.id, [])
