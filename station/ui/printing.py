"""Label printing through Qt's print dialog with a preview, painted from the label layout model."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import QCoreApplication, QMarginsF, QRectF, QSizeF
from PySide6.QtGui import QImage, QPageLayout, QPageSize, QPainter
from PySide6.QtPrintSupport import QPrinter, QPrintPreviewDialog
from PySide6.QtWidgets import QWidget

from station.labels.model import (
    MM_PER_INCH,
    LabelData,
    LabelLayout,
    LabelSize,
    layout_label,
    render_label_image,
)
from station.labels.sheets import SheetLayout, get_sheet
from station.ui.backend import SettingsStore

SHEET_SETTING = "labels.sheet"  # a sheet name (L4736…) or "label" for a label printer
LABEL_SIZE_SETTING = "labels.label_mm"  # "62x29": the label printer's label in millimetres
LABEL_PRINTER = "label"
DEFAULT_SHEET = "L4736"
DEFAULT_LABEL = LabelSize("62x29", 62.0, 29.0)
LABEL_DPI = 300  # labels are rasterised like the PNG and Brother outputs: crisp QR modules

_CONTEXT = "LabelPrinting"


def _t(text: str) -> str:
    return QCoreApplication.translate(_CONTEXT, text)


@dataclass(frozen=True)
class Placed:
    """One label on a page, its top-left corner in millimetres."""

    x: float
    y: float
    data: LabelData


class LabelPages:
    """Labels on pages: a sheet's grid, or one label a page for a label printer."""

    def __init__(self, labels: Sequence[LabelData], sheet: SheetLayout | LabelSize) -> None:
        self.labels = list(labels)
        self.pages: list[list[Placed]] = []
        if isinstance(sheet, SheetLayout):
            self.label = sheet.label
            self.page_mm = (sheet.page_w, sheet.page_h)
            for page, x, y, data in sheet.placements(self.labels):
                while len(self.pages) <= page:
                    self.pages.append([])
                self.pages[page].append(Placed(x, y, data))
        else:
            self.label = sheet
            self.page_mm = (sheet.width_mm, sheet.height_mm)
            self.pages = [[Placed(0.0, 0.0, data)] for data in self.labels]
        # Lay every label out now: a label that cannot be made (a QR too dense for the size)
        # raises InputError here, for the window to say, not inside Qt's paint callback.
        self.layouts = {id(data): layout_label(data, self.label) for data in self.labels}
        self._images: dict[int, QImage] = {}

    @classmethod
    def from_settings(cls, labels: Sequence[LabelData], settings: SettingsStore) -> LabelPages:
        """The sheet (or label printer) the station is set up for."""
        name = settings.get_setting(SHEET_SETTING) or DEFAULT_SHEET
        if name != LABEL_PRINTER:
            return cls(labels, get_sheet(name))
        size = DEFAULT_LABEL
        text = settings.get_setting(LABEL_SIZE_SETTING) or ""
        w, _, h = text.partition("x")
        try:
            size = LabelSize(text, float(w), float(h))
        except ValueError:
            pass  # not set or not "WxH": the default label
        return cls(labels, size)

    @property
    def page_count(self) -> int:
        return len(self.pages)

    def setup(self, printer: QPrinter) -> None:
        """Paper size and no margins: the layout places every label itself."""
        w, h = self.page_mm
        landscape = w > h
        size = QPageSize(QSizeF(min(w, h), max(w, h)), QPageSize.Unit.Millimeter, "labels")
        orientation = (
            QPageLayout.Orientation.Landscape if landscape else QPageLayout.Orientation.Portrait
        )
        printer.setPageLayout(
            QPageLayout(size, orientation, QMarginsF(0, 0, 0, 0), QPageLayout.Unit.Millimeter)
        )
        printer.setFullPage(True)
        printer.setDocName(_t("Labels"))

    def paint_page(self, painter: QPainter, index: int, px_per_mm: float) -> None:
        size = self.label
        for placed in self.pages[index]:
            key = id(placed.data)
            image = self._images.get(key)
            if image is None:
                image = self._images[key] = label_qimage(self.layouts[key])
            target = QRectF(
                placed.x * px_per_mm,
                placed.y * px_per_mm,
                size.width_mm * px_per_mm,
                size.height_mm * px_per_mm,
            )
            painter.drawImage(target, image)

    def print_to(self, printer: QPrinter) -> None:
        """Paint every page onto ``printer`` (the preview's, or the real one)."""
        painter = QPainter()
        if not painter.begin(printer):
            return
        try:
            px_per_mm = printer.resolution() / MM_PER_INCH
            for index in range(self.page_count):
                if index:
                    printer.newPage()
                self.paint_page(painter, index, px_per_mm)
        finally:
            painter.end()

    def page_image(self, index: int, dpi: float = 200) -> QImage:
        """One page as an image (white paper), as the printer gets it."""
        px_per_mm = dpi / MM_PER_INCH
        w, h = self.page_mm
        image = QImage(round(w * px_per_mm), round(h * px_per_mm), QImage.Format.Format_RGB32)
        image.fill(0xFFFFFF)
        painter = QPainter(image)
        try:
            self.paint_page(painter, index, px_per_mm)
        finally:
            painter.end()
        return image


def label_qimage(layout: LabelLayout, dpi: float = LABEL_DPI) -> QImage:
    """One label from the shared layout model, as a greyscale QImage."""
    image = render_label_image(layout, dpi=dpi)
    raw = image.tobytes()
    width, height = image.size
    return QImage(raw, width, height, width, QImage.Format.Format_Grayscale8).copy()


class LabelPreview(QPrintPreviewDialog):
    """Qt's print preview for the labels; printing from it goes to the chosen system printer."""

    def __init__(self, pages: LabelPages, parent: QWidget | None = None) -> None:
        # The dialog does not own the printer: keep it alive as long as the dialog.
        self._printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        pages.setup(self._printer)
        super().__init__(self._printer, parent)
        self.pages = pages
        self.setObjectName("label-preview")
        self.setWindowTitle(_t("Label preview"))
        self.paintRequested.connect(pages.print_to)
