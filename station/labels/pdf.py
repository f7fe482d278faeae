"""A4 label sheets as PDF: QR codes as vector rectangles, text in an embedded TrueType font."""

from __future__ import annotations

import io
from collections.abc import Sequence

from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from station.labels.model import (
    QR_BORDER,
    Fonts,
    LabelData,
    LabelLayout,
    default_fonts,
    layout_label,
    qr_modules,
)
from station.labels.sheets import SheetLayout


def _font_name(path: str) -> str:
    """Register a TTF once under a name derived from its path (reportlab keeps a font table)."""
    name = "Station-" + path.replace("/", "_").replace("\\", "_").replace(":", "_")
    try:
        pdfmetrics.getFont(name)
    except KeyError:
        pdfmetrics.registerFont(TTFont(name, path))
    return name


def _draw_label(
    c: canvas.Canvas, layout: LabelLayout, x_mm: float, y_mm: float, page_h: float, fonts: Fonts
) -> None:
    def to_pdf(x: float, y: float) -> tuple[float, float]:
        return (x_mm + x) * mm, (page_h - (y_mm + y)) * mm

    matrix = qr_modules(layout.qr_payload)
    module = layout.qr.w / (len(matrix) + 2 * QR_BORDER)
    path = c.beginPath()
    for r, row in enumerate(matrix):
        c_start = None
        for col in range(len(row) + 1):
            dark = col < len(row) and row[col]
            if dark and c_start is None:
                c_start = col
            elif not dark and c_start is not None:
                # One rectangle per dark run, all in one path: no hairline seams between modules.
                left, top = to_pdf(
                    layout.qr.x + (QR_BORDER + c_start) * module,
                    layout.qr.y + (QR_BORDER + r) * module,
                )
                path.rect(left, top - module * mm, (col - c_start) * module * mm, module * mm)
                c_start = None
    c.setFillGray(0)
    c.drawPath(path, stroke=0, fill=1)
    for line in layout.lines:
        c.setFont(
            _font_name(str(fonts.bold if line.bold else fonts.regular)), line.size / 25.4 * 72
        )
        c.drawString(*to_pdf(line.x, line.baseline), line.text)


def render_pdf(
    labels: Sequence[LabelData],
    sheet: SheetLayout,
    *,
    start_offset: int = 0,
    fonts: Fonts | None = None,
    outline: bool = False,
    title: str = "Asset tags",
) -> bytes:
    """The labels on as many sheets as they need, starting after ``start_offset`` used ones.

    ``outline`` draws each label's edge, for a test print on plain paper.
    """
    fonts = fonts or default_fonts()
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(sheet.page_w * mm, sheet.page_h * mm), invariant=1)
    c.setTitle(title)
    c.setCreator("Enrollment Station")
    page = 0
    for label_page, x, y, data in sheet.placements(labels, start_offset=start_offset):
        while label_page > page:
            c.showPage()
            page += 1
        if outline:
            c.setLineWidth(0.2)
            c.rect(
                x * mm,
                (sheet.page_h - y - sheet.label.height_mm) * mm,
                sheet.label.width_mm * mm,
                sheet.label.height_mm * mm,
                stroke=1,
                fill=0,
            )
        _draw_label(c, layout_label(data, sheet.label, fonts), x, y, sheet.page_h, fonts)
    c.showPage()
    c.save()
    return buf.getvalue()
