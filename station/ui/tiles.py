"""The cart view: one large tile per slot, laid out like the cart, readable from two metres."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QListView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

from station.jobs.events import JobState
from station.ui.backend import CartLayout
from station.ui.models import CartModel
from station.ui.texts import EMPTY, platform_word, state_glyph, state_word, step_label

TILE = QSize(250, 180)
MIN_TILE = QSize(150, 140)

# Okabe-Ito colours (safe for the common colour blindnesses); the state is also a glyph and
# a word on every tile, so colour is never the only cue.
STATE_COLOURS: dict[str, tuple[str, str]] = {  # state -> (background, accent)
    EMPTY: ("#f4f4f4", "#9a9a9a"),
    JobState.WAITING: ("#eef3fa", "#56B4E9"),
    JobState.RUNNING: ("#dcecf8", "#0072B2"),
    JobState.NEEDS_PERSON: ("#fde7c0", "#E69F00"),
    JobState.PAUSED: ("#ececec", "#666666"),
    JobState.DONE: ("#d4f0e4", "#009E73"),
    JobState.FAILED: ("#f8d6c6", "#D55E00"),
    JobState.CANCELLED: ("#e4e4e4", "#444444"),
}


def state_colours(state: str) -> tuple[QColor, QColor]:
    background, accent = STATE_COLOURS.get(state, STATE_COLOURS[EMPTY])
    return QColor(background), QColor(accent)


class TileDelegate(QStyledItemDelegate):
    """Paints one slot: number, state glyph and word, platform and tag, step, progress, action."""

    def __init__(self, view: QListView) -> None:
        super().__init__(view)
        self.view = view

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        return self.view.gridSize()

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        model = index.model()
        if not isinstance(model, CartModel):
            return
        # Read the row itself, not index.data(): O(1), and no QVariant round trip (PySide6
        # 6.12.0 drops a reference to None on every QModelIndex.data() that returns None).
        s = model.slot_state(index.row())
        state = s.state
        background, accent = state_colours(state)
        rect = option.rect.adjusted(4, 4, -4, -4)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setBrush(background)
        border = 6 if state in (JobState.NEEDS_PERSON, JobState.FAILED) else 2
        painter.setPen(QPen(QColor("#000000") if selected else accent, 4 if selected else border))
        painter.drawRoundedRect(rect, 8, 8)
        inner = rect.adjusted(8, 4, -8, -4)
        base = QFont(option.font)
        scale = max(0.7, min(1.0, rect.width() / 230))

        big = QFont(base)
        big.setPointSizeF(22 * scale)
        big.setBold(True)
        painter.setFont(big)
        painter.setPen(QColor("#111111"))
        slot = s.slot
        painter.drawText(
            inner, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, str(slot or "–")
        )
        number_width = painter.fontMetrics().horizontalAdvance(str(slot or "–")) + 8
        state_font = QFont(base)
        state_font.setPointSizeF(15 * scale)
        state_font.setBold(True)
        painter.setFont(state_font)
        word = painter.fontMetrics().elidedText(
            state_word(state),
            Qt.TextElideMode.ElideRight,
            inner.width() - number_width - painter.fontMetrics().horizontalAdvance("⚠ "),
        )
        painter.drawText(
            inner,
            Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop,
            f"{state_glyph(state)} {word}",
        )

        y = inner.top() + int(44 * scale)
        if s.job:
            tag = QFont(base)
            tag.setPointSizeF(14 * scale)
            tag.setBold(True)
            painter.setFont(tag)
            self._line(painter, inner, y, s.title)
            y += painter.fontMetrics().height()
            body = QFont(base)
            body.setPointSizeF(12 * scale)
            painter.setFont(body)
            line = painter.fontMetrics().height()
            step = step_label(s.step)
            if step and state not in (JobState.RUNNING, JobState.NEEDS_PERSON, JobState.PAUSED):
                step = ""
            self._line(
                painter, inner, y, " · ".join(p for p in (platform_word(s.platform), step) if p)
            )
            y += line + 2
            fraction = s.fraction
            if state == JobState.RUNNING and fraction is not None:
                percent = f"{round(fraction * 100)} %"
                text_width = painter.fontMetrics().horizontalAdvance("100 %") + 6
                bar = QRect(inner.left(), y + 2, inner.width() - text_width, line - 6)
                painter.setPen(QPen(accent, 1))
                painter.setBrush(QColor("#ffffff"))
                painter.drawRect(bar)
                painter.setBrush(accent)
                painter.drawRect(bar.adjusted(0, 0, -int(bar.width() * (1 - fraction)), 0))
                painter.setPen(QColor("#111111"))
                painter.drawText(
                    QRect(bar.right() + 4, y, text_width, line),
                    int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
                    percent,
                )
                y += line + 2
            action = s.action
            if action:
                painter.setPen(QColor("#111111"))
                bold = QFont(base)
                bold.setPointSizeF(12 * scale)
                bold.setBold(True)
                painter.setFont(bold)
                box = QRect(inner.left(), y, inner.width(), inner.bottom() - y)
                painter.drawText(
                    box,
                    int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
                    | int(Qt.TextFlag.TextWordWrap),
                    action,
                )
        painter.restore()

    @staticmethod
    def _line(painter: QPainter, inner: QRect, y: int, text: str) -> None:
        metrics = painter.fontMetrics()
        elided = metrics.elidedText(text, Qt.TextElideMode.ElideRight, inner.width())
        painter.setPen(QColor("#111111"))
        painter.drawText(QRect(inner.left(), y, inner.width(), metrics.height()), 0, elided)


class CartView(QListView):
    """Tiles in the cart's rows and columns; the grid follows the window's width."""

    def __init__(self, layout: CartLayout, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.cart_layout = layout
        self.setObjectName("cart-view")
        self.setViewMode(QListView.ViewMode.ListMode)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(True)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setUniformItemSizes(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setItemDelegate(TileDelegate(self))
        self.setGridSize(TILE)

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Exactly ``columns`` tiles per row, as on the cart; all rows in view if they fit."""
        columns, rows = self.cart_layout.columns, self.cart_layout.rows
        width = max(MIN_TILE.width(), (self.viewport().width() - 24) // columns)
        fit = (self.viewport().height() - 8) // rows
        height = max(MIN_TILE.height(), min(TILE.height(), fit))
        self.setGridSize(QSize(width, height))
        super().resizeEvent(event)
