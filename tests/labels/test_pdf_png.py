"""A4 sheets as PDF and PNG: pdfium renders the PDF, zxing-cpp reads every QR code back."""

from __future__ import annotations

import io

import pypdfium2 as pdfium
import pytest
import zxingcpp
from PIL import Image

from station.labels.model import LabelData
from station.labels.pdf import render_pdf
from station.labels.png import sheet_pngs
from station.labels.sheets import get_sheet
from tests.labels.helpers import SCHOOL, decode_in_reading_order, payloads


def _pdf_pages(pdf: bytes, dpi: int = 300) -> list[tuple[Image.Image, str]]:
    """Each page rendered by pdfium (as a viewer or printer driver would) plus its text."""
    doc = pdfium.PdfDocument(pdf)
    try:
        out = []
        for page in doc:
            try:
                bitmap = page.render(scale=dpi / 72, grayscale=True)
                image = bitmap.to_pil().copy()
                bitmap.close()
                textpage = page.get_textpage()
                text = textpage.get_text_range()
                textpage.close()
            finally:
                page.close()
            out.append((image, text))
        return out
    finally:
        doc.close()


@pytest.mark.parametrize("sheet_name", ["L4736", "L7651", "3475", "L7160"])
def test_every_qr_in_the_pdf_decodes_to_the_expected_payload_in_slot_order(
    cart_labels: list[LabelData], sheet_name: str
) -> None:
    sheet = get_sheet(sheet_name)
    pages = _pdf_pages(render_pdf(cart_labels, sheet))
    assert len(pages) == -(-len(cart_labels) // sheet.per_page)
    decoded = [text for image, _ in pages for text in decode_in_reading_order(image)]
    assert decoded == payloads(cart_labels)


def test_pdf_text_has_umlauts_tags_and_no_personal_data(cart_labels: list[LabelData]) -> None:
    pages = _pdf_pages(render_pdf(cart_labels[:6], get_sheet("L7160")))
    assert len(pages) == 1
    text = pages[0][1]
    assert SCHOOL in text  # "Grundschule Bornhöved": the embedded font maps ö back to Unicode
    for label in cart_labels[:6]:
        assert label.asset_tag in text
        assert f"SN {label.serial}" in text
    assert "Cart A · Slot 6" in text


def test_start_offset_continues_a_half_used_sheet(cart_labels: list[LabelData]) -> None:
    sheet = get_sheet("L7160")  # 21 per sheet, 3 columns
    pages = _pdf_pages(render_pdf(cart_labels[:5], sheet, start_offset=19))
    assert len(pages) == 2
    first = decode_in_reading_order(pages[0][0])
    second = decode_in_reading_order(pages[1][0])
    assert first + second == payloads(cart_labels[:5])
    assert len(first) == 2
    # The first label sits in position 20 (row 7, column 2) of the used sheet.
    results = [r for r in zxingcpp.read_barcodes(pages[0][0]) if r.text == first[0]]
    x_mm = results[0].position.top_left.x / 300 * 25.4
    y_mm = results[0].position.top_left.y / 300 * 25.4
    left, top = sheet.position(19)
    assert left < x_mm < left + sheet.label.width_mm / 2
    assert top < y_mm < top + sheet.label.height_mm


def test_png_sheets_decode_like_the_pdf(cart_labels: list[LabelData]) -> None:
    sheet = get_sheet("L4736")
    pngs = sheet_pngs(cart_labels, sheet, dpi=300, start_offset=40)
    assert len(pngs) == 2  # 8 left on the used sheet, 22 on the next
    images = [Image.open(io.BytesIO(png)) for png in pngs]
    assert all(image.size == (2480, 3508) for image in images)
    decoded = [text for image in images for text in decode_in_reading_order(image)]
    assert decoded == payloads(cart_labels)


def test_pdf_output_is_deterministic(cart_labels: list[LabelData]) -> None:
    sheet = get_sheet("L7651")
    assert render_pdf(cart_labels[:6], sheet) == render_pdf(cart_labels[:6], sheet)
