"""Labels as PNG: one label, or whole sheet pages rasterised from the same layout as the PDF."""

from __future__ import annotations

import io
from collections.abc import Sequence

from PIL import Image, ImageDraw

from station.labels.model import (
    MM_PER_INCH,
    Fonts,
    LabelData,
    LabelSize,
    default_fonts,
    draw_layout,
    layout_label,
    render_label_image,
)
from station.labels.sheets import SheetLayout


def _png(image: Image.Image, dpi: float) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG", dpi=(dpi, dpi), optimize=True)
    return buf.getvalue()


def label_png(data: LabelData, size: LabelSize, dpi: float = 300) -> bytes:
    """One label at its physical size."""
    return _png(render_label_image(data, size, dpi), dpi)


def sheet_images(
    labels: Sequence[LabelData],
    sheet: SheetLayout,
    *,
    dpi: float = 300,
    start_offset: int = 0,
    fonts: Fonts | None = None,
) -> list[Image.Image]:
    """One greyscale image per sheet page."""
    fonts = fonts or default_fonts()
    px = dpi / MM_PER_INCH
    size = (round(sheet.page_w * px), round(sheet.page_h * px))
    pages: list[Image.Image] = []
    for page, x, y, data in sheet.placements(labels, start_offset=start_offset):
        while len(pages) <= page:
            pages.append(Image.new("L", size, 255))
        draw_layout(
            ImageDraw.Draw(pages[page]),
            layout_label(data, sheet.label, fonts),
            (x * px, y * px),
            dpi,
            fonts,
        )
    return pages


def sheet_pngs(
    labels: Sequence[LabelData],
    sheet: SheetLayout,
    *,
    dpi: float = 300,
    start_offset: int = 0,
    fonts: Fonts | None = None,
) -> list[bytes]:
    """One PNG per sheet page."""
    return [
        _png(image, dpi)
        for image in sheet_images(labels, sheet, dpi=dpi, start_offset=start_offset, fonts=fonts)
    ]
