"""The station's main window: cart tiles, checklist, device detail and run control."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QItemSelection, QModelIndex, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent
from PySide6.QtWidgets import (
    QAbstractButton,
    QFileDialog,
    QGroupBox,
    QLabel,
    QLineEdit,
    QListWidget,
    QMainWindow,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QStatusBar,
    QTabWidget,
    QToolBar,
    QTreeWidget,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)

from station.blueprint import Blueprint
from station.errors import StationError
from station.jobs.events import JobEvent, JobState
from station.labels.model import LabelData
from station.labels.printer_setting import PrinterSetting
from station.labels.queue import PrintQueue
from station.sync.status import SyncStatus
from station.ui.attention import AttentionBanner
from station.ui.backend import CartLayout, SettingsStore
from station.ui.checklist import ChecklistPanel, checklist
from station.ui.detail import DeviceDetail
from station.ui.enrollment import AndroidQrDialog
from station.ui.label_printer import LabelPrinterControl, PrintOutcome
from station.ui.models import CartModel, Role
from station.ui.printing import LabelPages, LabelPreview
from station.ui.run_control import RunControl
from station.ui.runtime import EventBridge, Runtime
from station.ui.sync_panel import SyncPanel
from station.ui.technician import LabelPrinterDialog, PinDialog, SecretDialog, TechnicianMode
from station.ui.texts import detail_text, error_text, hint_text
from station.ui.tiles import CartView
from station.ui.wizards import (
    CART_COLUMNS,
    CART_ROWS,
    SOUND,
    STATION_NAME,
    CalibrationWizard,
    FirstRunWizard,
)

_CONTEXT = "MainWindow"
_TO_PRINTER = "printer:"  # a labels_ready purpose for the label printer, not the dialog


def _t(text: str) -> str:
    return QCoreApplication.translate(_CONTEXT, text)


def _fill(text: str, *args: object) -> str:
    for n, arg in enumerate(args, start=1):
        text = text.replace(f"%{n}", str(arg))
    return text


def cart_layout(settings: SettingsStore, slot_count: int) -> CartLayout:
    """The layout from the station's settings, else one that fits the calibrated slots."""
    rows, columns = settings.get_setting(CART_ROWS), settings.get_setting(CART_COLUMNS)
    if rows and columns and rows.isdigit() and columns.isdigit():
        layout = CartLayout(int(rows), int(columns))
        if layout.slots >= slot_count:
            return layout
    return CartLayout.for_slots(slot_count or 30)


class MainWindow(QMainWindow):
    """Receives events, sends commands; never changes a job and never waits on a device.

    Signals:
        run_finished(object): the run ended (its result, or None when stopped).
    """

    run_finished = Signal(object)

    def __init__(self, runtime: Runtime, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runtime = runtime
        self.bridge: EventBridge = runtime.bridge
        backend = runtime.backend
        self.settings = backend.settings
        self.setObjectName("station-window")
        self.mode = TechnicianMode(self.settings, self)
        self.layout_ = cart_layout(self.settings, backend.slot_count())
        self.model = CartModel(self.layout_, self)
        self.started = False
        self.printed = False  # the cart's labels were printed in this run
        self.printed_jobs: set[str] = set()  # whose labels those were
        self._printing: set[str] = set()  # the jobs of the cart labels being previewed
        self._slot_jobs: dict[int, str] = {}  # slot -> job of the cart labels being printed
        self._again_job = ""  # the job whose label is printed again
        self.in_run = False
        self.ended = False  # a run ended (until the next starts)
        self.blueprint: Blueprint | None = None
        self.calibration: CalibrationWizard | None = None
        self.first_run: FirstRunWizard | None = None
        self.secret_dialog: SecretDialog | None = None
        self.label_preview: LabelPreview | None = None
        self.label_printer_dialog: LabelPrinterDialog | None = None
        self.label_printer = LabelPrinterControl(self.settings, self._label_queue, self)
        self.label_printer.finished.connect(self._on_label_printer_finished)
        self.android_qr: AndroidQrDialog | None = None
        self._needing: set[int] = set()

        self.banner = AttentionBanner()
        self.banner.sound = self.settings.get_setting(SOUND) != "off"
        self.view = CartView(self.layout_)
        self.view.setModel(self.model)
        self.checklist = ChecklistPanel()
        self.detail = DeviceDetail()
        self.reprint_button = QPushButton(_t("Print label again"))
        self.reprint_button.setObjectName("reprint")
        self.reprint_button.setEnabled(False)
        self.reprint_button.clicked.connect(self.print_label_again)
        detail_layout = self.detail.layout()
        if isinstance(detail_layout, QVBoxLayout):
            detail_layout.insertWidget(2, self.reprint_button)
        self.sync_panel = SyncPanel(runtime.request_sync_status)
        self.run_control = RunControl()
        self.run_control.set_blueprints(backend.blueprints())

        side = QTabWidget()
        side.setObjectName("side-tabs")
        side.addTab(self.checklist, _t("Checklist"))
        side.addTab(self.detail, _t("Device"))
        self.side = side
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.run_control)
        right_layout.addWidget(side, 1)
        right_layout.addWidget(self.sync_panel)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.view)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([1200, 400])
        central = QWidget()
        central_layout = QVBoxLayout(central)
        central_layout.addWidget(self.banner)
        central_layout.addWidget(splitter, 1)
        self.setCentralWidget(central)
        self.setStatusBar(QStatusBar())
        self._build_toolbar()
        self._retitle()

        self.bridge.events.connect(self._on_events)
        self.bridge.blueprint_loaded.connect(self._on_blueprint_loaded)
        self.bridge.blueprint_failed.connect(self._on_blueprint_failed)
        self.bridge.run_started.connect(self._on_run_started)
        self.bridge.run_ended.connect(self._on_run_ended)
        self.bridge.failed.connect(self._on_failed)
        self.bridge.labels_ready.connect(self._on_labels_ready)
        self.bridge.android_qr.connect(self._on_android_qr)
        self.bridge.android_qr_failed.connect(self._on_android_qr_failed)
        self.bridge.sync_status.connect(self._on_sync_status)
        self.bridge.notice.connect(self._on_notice)
        self.model.refreshed.connect(self._on_model_refreshed)
        self.model.state_changed.connect(self._on_state_changed)
        self.model.run_event.connect(self._on_run_event)
        self.model.station_problem.connect(self._on_station_problem)
        self.view.selectionModel().selectionChanged.connect(self._on_selection_changed)
        self.detail.retry_requested.connect(self._on_retry_requested)
        self.detail.cancel_requested.connect(self._on_cancel_requested)
        self.run_control.load_requested.connect(self._on_load_requested)
        self.run_control.open_requested.connect(self._on_open_requested)
        self.run_control.start_requested.connect(self._on_start_requested)
        self.run_control.stop_requested.connect(self.runtime.stop_run)
        self.mode.changed.connect(self._on_mode_changed)
        self.mode.refused.connect(self._on_refused)
        self._on_mode_changed(False)
        self._update_print_actions()
        self._update_checklist()
        self.sync_panel.start()

    # --- building -------------------------------------------------------------------------

    def _build_toolbar(self) -> None:
        bar = QToolBar(_t("Station"))
        bar.setObjectName("station-toolbar")
        bar.setMovable(False)
        self.addToolBar(bar)
        self.technician_action = QAction(_t("Technician mode…"), self)
        self.technician_action.triggered.connect(self._on_technician_triggered)
        self.settings_action = QAction(_t("Station settings…"), self)
        self.settings_action.triggered.connect(self.open_settings)
        self.secrets_action = QAction(_t("Secrets…"), self)
        self.secrets_action.triggered.connect(self.open_secrets)
        self.calibrate_action = QAction(_t("Calibrate slots…"), self)
        self.calibrate_action.triggered.connect(self.open_calibration)
        self.print_action = QAction(_t("Print labels"), self)
        self.print_action.triggered.connect(self.print_labels)
        self.paper_action = QAction(_t("Print labels on paper…"), self)
        self.paper_action.setToolTip(_t("The labels in a preview, for any printer of the system"))
        self.paper_action.triggered.connect(self.print_labels_on_paper)
        self.retry_print_action = QAction(_t("Retry printing"), self)
        self.retry_print_action.setToolTip(_t("Print the labels the label printer has not yet"))
        self.retry_print_action.triggered.connect(self.retry_printing)
        self.label_printer_action = QAction(_t("Label printer…"), self)
        self.label_printer_action.triggered.connect(self.open_label_printer)
        self.android_qr_action = QAction(_t("Show Android enrollment QR"), self)
        self.android_qr_action.triggered.connect(self.show_android_qr)
        self.sound_action = QAction(_t("Sound"), self)
        self.sound_action.setCheckable(True)
        self.sound_action.setChecked(self.banner.sound)
        self.sound_action.setToolTip(_t("An audible cue when the cart is done or needs a person"))
        self.sound_action.toggled.connect(self._on_sound_toggled)
        for action in (
            self.print_action,
            self.paper_action,
            self.retry_print_action,
            self.android_qr_action,
            self.sound_action,
            self.technician_action,
            self.settings_action,
            self.secrets_action,
            self.calibrate_action,
            self.label_printer_action,
        ):
            bar.addAction(action)
        self.paper_action.setVisible(False)
        self.retry_print_action.setEnabled(False)

    def _retitle(self) -> None:
        name = self.settings.get_setting(STATION_NAME) or ""
        title = _t("Enrollment Station")
        self.setWindowTitle(f"{title} – {name}" if name else title)

    # --- technician actions (each asks the mode first) ------------------------------------

    def open_settings(self) -> bool:
        """The first-run wizard again, for the technician; False when refused."""
        if not self.mode.allowed("settings"):
            return False
        wizard = FirstRunWizard(self.settings, self.mode, self)
        wizard.secret_entered.connect(self.runtime.set_secret)
        if wizard.exec():
            self._retitle()
            if wizard.calibrate.isChecked():
                self.open_calibration()
        return True

    def open_first_run(self) -> bool:
        """The setup wizard on a new station (no PIN yet); afterwards it needs the PIN."""
        if self.mode.has_pin:
            return self.open_settings()
        wizard = FirstRunWizard(self.settings, self.mode, self)
        wizard.secret_entered.connect(self.runtime.set_secret)
        wizard.accepted.connect(self._on_first_run_accepted)
        self.first_run = wizard
        wizard.open()
        return True

    def _on_first_run_accepted(self) -> None:
        self._retitle()
        if self.first_run is not None and self.first_run.calibrate.isChecked():
            self.mode.begin_setup_session()
            self.open_calibration()

    def open_secrets(self) -> bool:
        """Store a blueprint's secret (technician only); False when refused."""
        if not self.mode.allowed("secrets"):
            return False
        dialog = SecretDialog(self)
        dialog.secret_entered.connect(self.runtime.set_secret)
        dialog.open()
        self.secret_dialog = dialog
        return True

    def open_calibration(self) -> bool:
        if not self.mode.allowed("calibrate"):
            return False
        if self.runtime.running:
            self.statusBar().showMessage(_t("Stop the run before calibrating the slots."))
            return False
        wizard = CalibrationWizard(self.layout_.slots, self)
        self.calibration = wizard
        wizard.calibrated.connect(self.runtime.save_calibration)
        wizard.finished.connect(self._on_calibration_finished)
        self.runtime.watch_devices(True)
        wizard.open()
        return True

    def open_blueprint_file(self, path: Path | None = None) -> bool:
        if not self.mode.allowed("blueprint"):
            return False
        if path is None:
            name, _ = QFileDialog.getOpenFileName(
                self, _t("Open blueprint"), "", _t("Blueprints (*.toml)")
            )
            if not name:
                return True
            path = Path(name)
        self.run_control.choose(path)
        return True

    def open_label_printer(self) -> bool:
        """The label printer's setting (technician only); False when refused."""
        if not self.mode.allowed("label_printer"):
            return False
        dialog = LabelPrinterDialog(self.settings, self._label_queue, self)
        dialog.accepted.connect(self._on_label_printer_saved)
        self.label_printer_dialog = dialog
        dialog.open()
        return True

    def _label_queue(self, setting: PrinterSetting) -> PrintQueue:
        """The backend builds the printer (the window imports no printer driver)."""
        return self.runtime.backend.label_queue(setting)

    def _on_label_printer_saved(self) -> None:
        self._update_print_actions()
        setting = self.label_printer.setting
        self.statusBar().showMessage(
            _fill(_t("Labels now print on %1."), setting.address)
            if setting is not None
            else _t("Labels now print with the print dialog.")
        )

    def cancel_device(self, key: str) -> bool:
        if not self.mode.allowed("cancel"):
            return False
        self.runtime.cancel(key)
        return True

    # --- helper actions -------------------------------------------------------------------

    def choose_blueprint(self, path: Path) -> None:
        self.run_control.choose(path)

    def start_run(self) -> None:
        if self.run_control.path is not None and self.run_control.blueprint is not None:
            self.runtime.start_run(self.run_control.path)

    def retry_device(self, key: str) -> None:
        self.runtime.retry(key)

    def print_labels(self) -> None:
        """The finished tablets' labels not printed yet (all of them again when none is left):
        on the label printer when one is set, else in the print dialog."""
        self._print_cart(on_paper=self.label_printer.setting is None)

    def print_labels_on_paper(self) -> None:
        """The cart's labels in the print dialog, even with a label printer set."""
        self._print_cart(on_paper=True)

    def _print_cart(self, *, on_paper: bool) -> None:
        done = [s for s in self.model.slots() if s.state == JobState.DONE]
        if not done:
            self.statusBar().showMessage(_t("No finished tablets to print labels for."))
            return
        if not on_paper and self._printer_busy():
            return
        new = [s for s in done if s.job not in self.printed_jobs]
        chosen = new or done
        self._printing = {s.job for s in chosen}
        self._slot_jobs = {s.slot: s.job for s in chosen if s.slot is not None}
        purpose = "cart" if on_paper else _TO_PRINTER + "cart"
        self.runtime.request_labels([s.summary() for s in chosen], purpose)

    def print_label_again(self) -> None:
        """One tablet's label again (a torn or lost one): on the label printer when one is
        set, else with a preview first."""
        state = self.detail.state
        if state is None or state.state != JobState.DONE:
            return
        if self.label_printer.setting is None:
            self.runtime.request_labels([state.summary()], "device")
            return
        if self._printer_busy():
            return
        self._again_job = state.job
        self.runtime.request_labels([state.summary()], _TO_PRINTER + "device")

    def retry_printing(self) -> None:
        """Print the labels the label printer kept (it was off, the roll was wrong)."""
        if self.label_printer.setting is None or self._printer_busy():
            return
        self.statusBar().showMessage(_t("Printing the kept labels…"))
        self.retry_print_action.setEnabled(False)
        self.label_printer.retry()

    def _printer_busy(self) -> bool:
        if self.label_printer.busy:
            self.statusBar().showMessage(_t("The label printer is still printing: wait a moment."))
        return self.label_printer.busy

    def show_android_qr(self) -> None:
        """The loaded blueprint's enrollment QR, full-screen for tablets in setup."""
        dialog = AndroidQrDialog(self)
        dialog.finished.connect(self._on_android_qr_closed)
        self.android_qr = dialog
        dialog.showFullScreen()
        self.runtime.request_android_qr()

    # --- slots ----------------------------------------------------------------------------

    def _on_events(self, events: list[JobEvent]) -> None:
        self.model.apply(events)
        if self.calibration is not None:
            self.calibration.on_events(events)

    def _on_model_refreshed(self) -> None:
        self._update_checklist()
        selected = self.view.selectionModel().selectedIndexes()
        if selected:
            self.detail.show_state(self.model.slot_state(selected[0].row()))
        self._update_reprint()
        self._update_banner()

    def _update_reprint(self) -> None:
        state = self.detail.state
        self.reprint_button.setEnabled(
            state is not None and state.state == JobState.DONE and bool(state.asset_tag)
        )

    def _on_labels_ready(self, purpose: str, labels: list[LabelData]) -> None:
        if not labels:
            self.statusBar().showMessage(_t("No finished tablets to print labels for."))
            return
        if purpose.startswith(_TO_PRINTER):
            self._send_to_printer(purpose.removeprefix(_TO_PRINTER), labels)
            return
        try:
            pages = LabelPages.from_settings(labels, self.settings)
        except StationError as exc:
            self.statusBar().showMessage(
                self._problem_text(_t("The labels cannot be laid out: %1"), exc)
            )
            return
        dialog = LabelPreview(pages, self)
        if purpose == "cart":
            dialog.accepted.connect(self._on_labels_printed)
        self.label_preview = dialog
        dialog.open()

    @staticmethod
    def _problem_text(frame: str, error: StationError) -> str:
        """``frame`` (with %1) around the error's message, then what to do, translated."""
        text = _fill(frame, error_text(error.message))
        if error.hint:
            text += " " + _fill(_t("What to do: %1"), hint_text(error.hint))
        return text

    def show_problem(self, error: StationError, more: str = "") -> None:
        """A station error (a printer that is off, labels that do not fit) in the status bar,
        then ``more`` (already translated: what is still pending)."""
        text = self._problem_text(_t("That did not work: %1"), error)
        self.statusBar().showMessage(f"{text} {more}".strip())

    def _send_to_printer(self, purpose: str, labels: list[LabelData]) -> None:
        """The labels (in slot order) to the label printer, on its worker thread."""
        if purpose == "device":
            keys = [self._again_job for _ in labels]
        else:
            keys = [self._slot_jobs.get(label.slot, "") if label.slot else "" for label in labels]
        try:
            self.label_printer.print_labels(labels, keys)
        except StationError as exc:  # the stored setting names no printer any more
            self.show_problem(exc)
            return
        self.retry_print_action.setEnabled(False)
        self.statusBar().showMessage(_fill(_t("Printing %1 labels…"), len(labels)))

    def _on_label_printer_finished(self, outcome: PrintOutcome) -> None:
        keys = {key for key in outcome.printed_keys if key}
        if outcome.printed:
            self.printed = True
            self.printed_jobs |= keys
            self._update_checklist()
        pending = ""
        if outcome.pending_labels:
            pending = _fill(
                _t("%1 labels are kept for the label printer: press Retry printing."),
                outcome.pending_labels,
            )
        self.retry_print_action.setEnabled(outcome.pending_jobs > 0)
        if outcome.error is not None:
            if outcome.printed:
                pending = _fill(_t("%1 labels printed."), outcome.printed) + " " + pending
            self.show_problem(outcome.error, pending)
            return
        done = _fill(_t("%1 labels printed on %2."), outcome.printed, outcome.printer)
        self.statusBar().showMessage(f"{done} {pending}".strip())

    def _update_print_actions(self) -> None:
        """Paper and Retry are offered when a label printer is set (Retry: when some wait)."""
        has_printer = self.label_printer.setting is not None
        self.paper_action.setVisible(has_printer)
        self.retry_print_action.setVisible(has_printer)
        pending = 0
        if has_printer and not self.label_printer.busy:
            try:
                pending = self.label_printer.pending_labels()
            except StationError as exc:
                self.show_problem(exc)
        self.retry_print_action.setEnabled(pending > 0)
        if pending:
            self.statusBar().showMessage(
                _fill(
                    _t("%1 labels are kept for the label printer: press Retry printing."), pending
                )
            )

    def _on_labels_printed(self) -> None:
        self.printed = True
        self.printed_jobs |= self._printing
        self._update_checklist()
        self.statusBar().showMessage(_t("Labels sent to the printer."))

    def _on_android_qr(self, png: bytes, payload: str) -> None:
        if self.android_qr is not None:
            self.android_qr.show_code(png, payload)

    def _on_android_qr_failed(self, error: StationError) -> None:
        if self.android_qr is not None:
            self.android_qr.show_problem(error)

    def _on_android_qr_closed(self, _result: int) -> None:
        self.android_qr = None

    def _on_sync_status(self, status: SyncStatus) -> None:
        self.sync_panel.show_status(status)

    def _on_state_changed(self, row: int, old: str, new: str) -> None:
        if new == JobState.NEEDS_PERSON:
            self._needing.add(row)
            s = self.model.slot_state(row)
            self.banner.announce(
                "person",
                _fill(_t("Slot %1 needs you: %2"), s.slot or "?", hint_text(s.hint)),
            )
        else:
            self._needing.discard(row)

    def _update_banner(self) -> None:
        if self.banner.kind == "person" and not self._needing:
            self.banner.clear_banner()

    def _on_run_event(self, event: JobEvent) -> None:
        if event.state in ("started", "resumed"):
            self._begin_run()
            return
        self.in_run = False
        self.ended = True
        done = event.data.get("done", 0)
        devices = event.data.get("devices", 0)
        summary = _fill(_t("Run ended: %1 of %2 tablets done."), done, devices)
        failed = [s for s in self.model.occupied() if s.state == JobState.FAILED]
        if failed:
            summary += " " + _fill(
                _t("Failed: slots %1."), ", ".join(str(s.slot) for s in failed if s.slot)
            )
        self.run_control.show_summary(summary)
        if event.state == "finished":
            self.banner.announce("done", _t("The cart is done. Print the labels."))
        elif event.state == "failed":
            self.banner.announce("failed", summary)
        self._update_checklist()

    def _on_station_problem(self, detail: str, hint: str) -> None:
        self.banner.announce("problem", hint_text(hint) or detail_text(detail))

    def _on_selection_changed(self, selected: QItemSelection, _deselected: QItemSelection) -> None:
        indexes = selected.indexes()
        if indexes:
            self._show_row(indexes[0])

    def _show_row(self, index: QModelIndex) -> None:
        self.detail.show_state(self.model.slot_state(index.row()))
        self._update_reprint()
        self.side.setCurrentWidget(self.detail)

    def _on_retry_requested(self, key: str) -> None:
        self.retry_device(key)

    def _on_cancel_requested(self, key: str) -> None:
        self.cancel_device(key)

    def _on_load_requested(self, path: Path) -> None:
        self.runtime.load_blueprint(path)

    def _on_open_requested(self) -> None:
        self.open_blueprint_file()

    def _on_start_requested(self, path: Path) -> None:
        self.runtime.start_run(path)

    def _on_blueprint_loaded(self, path: Path, blueprint: Blueprint) -> None:
        self.blueprint = blueprint
        self.run_control.show_loaded(path, blueprint)
        self._update_checklist()

    def _on_blueprint_failed(self, path: Path, error: StationError) -> None:
        self.blueprint = None
        self.run_control.show_failed(path, error)
        self._update_checklist()

    def _on_run_started(self, _path: Path) -> None:
        self.run_control.set_running(True)
        self.run_control.show_summary(_t("Running…"))
        self.runtime.watch_devices(False)  # the run's engine watches the tablets now
        self._begin_run()

    def _begin_run(self) -> None:
        if not self.in_run:
            self.printed = False
            self.printed_jobs.clear()
        self.started = True
        self.in_run = True
        self.ended = False
        self._update_checklist()

    def _on_run_ended(self, result: object) -> None:
        self.run_control.set_running(False)
        self.in_run = False
        self.ended = True
        self.model.flush()
        self._update_checklist()
        if self.calibration is None:
            # Without a run nobody watches the tablets: watch, so unplugging them is seen.
            self.runtime.watch_devices(True)
        self.run_finished.emit(result)

    def _on_failed(self, code: str, detail: str) -> None:
        words = {
            "busy": _t("A run is already going."),
            "no_run": _t("No run is going."),
            "unknown_device": _t("That device is not part of this run."),
            "crashed": _t("The run stopped because of an error in the station."),
            "command": _t("The station could not do that."),
        }
        text = words.get(code, code)
        # A failed command's detail is the error's str(): a catalog message, translated.
        self.statusBar().showMessage(f"{text} {error_text(detail)}".strip())
        if code == "crashed":
            self.banner.announce("problem", text)

    def _on_notice(self, code: str, detail: str) -> None:
        if code == "calibration":
            self.statusBar().showMessage(_t("Slot calibration saved."))
        elif code == "secret":
            self.statusBar().showMessage(_t("Secret saved."))

    def _on_mode_changed(self, active: bool) -> None:
        for action in (
            self.settings_action,
            self.secrets_action,
            self.calibrate_action,
            self.label_printer_action,
        ):
            action.setEnabled(active)
        self.run_control.open_button.setEnabled(active)
        self.detail.cancel_button.setVisible(active)
        self.technician_action.setText(
            _t("Leave technician mode") if active else _t("Technician mode…")
        )
        self.statusBar().showMessage(
            _t("Technician mode") if active else _t("Helper mode: run, retry and print")
        )

    def _on_refused(self, action: str) -> None:
        self.statusBar().showMessage(_t("Only a technician may do that. Sign in with the PIN."))

    def _on_technician_triggered(self) -> None:
        if self.mode.active:
            self.mode.leave()
            return
        if not self.mode.has_pin:
            self.statusBar().showMessage(_t("No technician PIN is set yet: run the station setup."))
            return
        PinDialog(self.mode, self).open()

    def _on_sound_toggled(self, on: bool) -> None:
        self.banner.sound = on
        self.settings.set_setting(SOUND, "on" if on else "off")

    def _on_calibration_finished(self, _result: int) -> None:
        self.runtime.watch_devices(self.ended)  # after a run, unplugging is still watched
        self.calibration = None

    def _update_checklist(self) -> None:
        blueprint = self.blueprint
        items = checklist(
            self.model.slots(),
            ios=blueprint is not None and blueprint.ios is not None,
            android=blueprint is not None and blueprint.android is not None,
            started=self.started,
            printed=self.printed_jobs,
            expected=self.expected_devices(),
            over=self.run_over(),
        )
        self.checklist.show_items(items)

    def run_over(self) -> bool:
        """Nothing more will finish: the run ended, or none runs and every tablet is final."""
        if self.in_run:
            return False
        if self.ended:
            return True
        seen = self.model.occupied()
        final = (JobState.DONE, JobState.FAILED, JobState.CANCELLED)
        return bool(seen) and all(s.state in final for s in seen)

    def expected_devices(self) -> int:
        """How many tablets the cart should hold: the calibrated slots."""
        return self.runtime.backend.slot_count() or self.layout_.slots

    def visible_texts(self) -> list[tuple[str, str]]:
        """Every text a person can see in the window: (widget name, text). For tests."""
        return list(_walk_texts(self))

    def closeEvent(self, event: QCloseEvent) -> None:
        self.sync_panel.stop()
        self.label_printer.wait()
        self.runtime.shutdown()
        super().closeEvent(event)


def widget_texts(root: QWidget) -> Iterator[tuple[str, str]]:
    """Every text a person can see on ``root`` and its children: (widget name, text)."""
    yield "window-title", root.windowTitle()
    for action in root.findChildren(QAction):
        yield "action", action.text()
        if action.toolTip() and action.toolTip() != action.text().replace("&", ""):
            yield "action-tooltip", action.toolTip()
    for widget in root.findChildren(QWidget):
        name = widget.objectName() or type(widget).__name__
        if widget.toolTip():
            yield name, widget.toolTip()
        if isinstance(widget, QLabel | QAbstractButton):
            yield name, widget.text()
        elif isinstance(widget, QGroupBox):
            yield name, widget.title()
        elif isinstance(widget, QLineEdit):
            yield name, widget.placeholderText()
        elif isinstance(widget, QTabWidget):
            for i in range(widget.count()):
                yield name, widget.tabText(i)
        elif isinstance(widget, QListWidget):
            for i in range(widget.count()):
                yield name, widget.item(i).text()
        elif isinstance(widget, QPlainTextEdit):
            yield from ((name, line) for line in widget.toPlainText().splitlines())
        elif isinstance(widget, QTreeWidget):
            header = widget.headerItem()
            for i in range(header.columnCount()):
                yield name, header.text(i)
            for i in range(widget.topLevelItemCount()):
                item = widget.topLevelItem(i)
                if item is not None:
                    yield from ((name, item.text(c)) for c in range(item.columnCount()))
        elif isinstance(widget, QWizardPage):
            yield name, widget.title()
            yield name, widget.subTitle()


def _walk_texts(root: MainWindow) -> Iterator[tuple[str, str]]:
    yield from widget_texts(root)
    model = root.model
    for row in range(model.rowCount()):
        index = model.index(row)
        for role in (Qt.ItemDataRole.DisplayRole, Role.STEP, Role.ACTION, Role.DETAIL):
            text = model.data(index, role)
            if text:
                yield f"tile-{row + 1}", str(text)
