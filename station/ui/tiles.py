"""The cart view: one large tile per slot, laid out like the cart, readable from two metres."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QEvent, QModelIndex, QPersistentModelIndex, QPoint, QRect, QSize, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QPainter,
    QPaintEvent,
    QPen,
    QPixmap,
    QResizeEvent,
    QStaticText,
)
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
from station.ui.models import CartModel, SlotState
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


@dataclass(frozen=True)
class _Fonts:
    """The tile's fonts at one scale (made once per scale, not once per paint)."""

    big: QFont
    state: QFont
    tag: QFont
    body: QFont
    bold: QFont

    @classmethod
    def make(cls, base: QFont, scale: float) -> _Fonts:
        def sized(points: float, bold: bool) -> QFont:
            font = QFont(base)
            font.setPointSizeF(points * scale)
            font.setBold(bold)
            return font

        return cls(
            sized(22, True), sized(15, True), sized(14, True), sized(12, False), sized(12, True)
        )


@dataclass(frozen=True)
class _Tile:
    """A tile's static picture, and where its progress bar and percent go (None: no bar)."""

    key: tuple[object, ...]
    picture: QPixmap
    bar: tuple[int, int, int, int] | None  # x, y, width, height inside the tile
    percent_right: int  # the percent's right edge and vertical centre inside the tile
    percent_middle: int
    accent: QColor


_SELECTED = QStyle.StateFlag.State_Selected.value
_WHITE = QColor("#ffffff")
_INK = QColor("#111111")


class TileDelegate(QStyledItemDelegate):
    """Paints one slot: number, state glyph and word, platform and tag, step, progress, action.

    Everything but the progress bar changes only when the slot's state, step or texts change,
    so it is drawn once into a pixmap per slot and reused; a paint is then one pixmap, two
    filled rectangles and a prepared percent text. 120 tablets reporting progress repaint the
    whole cart ten times a second, and laying the texts out every time cost most of a frame.
    """

    def __init__(self, view: QListView) -> None:
        super().__init__(view)
        self.view = view
        self._tiles: dict[int, _Tile] = {}
        self._fonts: dict[tuple[str, float], _Fonts] = {}
        self._percent: dict[tuple[str, int, int], QStaticText] = {}
        self._style: tuple[str, int, float] = ("", 0, 1.0)
        self._ground = QColor("#ffffff")

    def clear_cache(self) -> None:
        """Forget every drawn tile (the language or the font changed)."""
        self._tiles.clear()
        self._fonts.clear()
        self._percent.clear()

    def begin_paint(self, font: QFont, ground: QColor, ratio: float) -> None:
        """What every tile of this paint shares, read once per paint instead of per tile."""
        self._style = (font.key(), ground.rgba(), ratio)
        self._ground = ground

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
        if isinstance(model, CartModel):
            row = index.row()
            selected = bool(option.state.value & _SELECTED)
            self.paint_tile(painter, option.rect, row, model.slot_state(row), selected, option.font)

    def paint_tile(
        self, painter: QPainter, rect: QRect, row: int, s: SlotState, selected: bool, font: QFont
    ) -> None:
        """One tile at ``rect``: its cached picture, then its progress."""
        width = rect.width()
        fraction = s.fraction if s.state == JobState.RUNNING else None
        key = (
            self._style,
            width,
            rect.height(),
            selected,
            s.slot,
            s.job,
            s.state,
            s.title,
            s.platform,
            s.step,
            s.hint,
            s.presence,
            fraction is not None,
        )
        tile = self._tiles.get(row)
        if tile is None or tile.key != key:
            tile = self._draw_tile(key, rect.size(), font, s, selected, fraction is not None)
            self._tiles[row] = tile
        x, y = rect.x(), rect.y()
        painter.drawPixmap(x, y, tile.picture)
        if fraction is None or tile.bar is None:
            return
        bx, by, bw, bh = tile.bar
        filled = round((bw - 1) * fraction)
        painter.fillRect(x + bx, y + by, bw, bh, tile.accent)
        painter.fillRect(x + bx + 1 + filled, y + by + 1, bw - 2 - filled, bh - 2, _WHITE)
        text = self._percent_text(font, width, round(fraction * 100))
        size = text.size()
        painter.save()
        painter.setPen(_INK)
        painter.setFont(self._fonts_for(font, width).body)
        painter.drawStaticText(
            int(x + tile.percent_right - size.width()),
            int(y + tile.percent_middle - size.height() / 2),
            text,
        )
        painter.restore()

    def _fonts_for(self, base: QFont, width: int) -> _Fonts:
        scale = round(max(0.7, min(1.0, (width - 8) / 230)), 3)
        key = (self._style[0], scale)
        fonts = self._fonts.get(key)
        if fonts is None:
            fonts = self._fonts[key] = _Fonts.make(base, scale)
        return fonts

    def _percent_text(self, base: QFont, width: int, percent: int) -> QStaticText:
        """ "42 %" laid out once in the tile's body font (the painter must use that font)."""
        key = (self._style[0], width, percent)
        text = self._percent.get(key)
        if text is None:
            text = self._percent[key] = QStaticText(f"{percent} %")
            text.setTextFormat(Qt.TextFormat.PlainText)
            text.prepare(font=self._fonts_for(base, width).body)
        return text

    def _draw_tile(
        self,
        key: tuple[object, ...],
        size: QSize,
        font: QFont,
        s: SlotState,
        selected: bool,
        with_bar: bool,
    ) -> _Tile:
        """The tile without its progress: drawn when the slot's state or texts change."""
        # Opaque on the view's background: copying an opaque pixmap is a plain copy, while
        # blending a transparent one cost more than drawing the tile.
        ratio = self._style[2]
        picture = QPixmap(size * ratio)
        picture.setDevicePixelRatio(ratio)
        picture.fill(self._ground)
        state = s.state
        background, accent = state_colours(state)
        fonts = self._fonts_for(font, size.width())
        rect = QRect(QPoint(0, 0), size).adjusted(4, 4, -4, -4)
        scale = max(0.7, min(1.0, rect.width() / 230))
        bar: tuple[int, int, int, int] | None = None
        right = middle = 0
        painter = QPainter(picture)
        try:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setBrush(background)
            border = 6 if state in (JobState.NEEDS_PERSON, JobState.FAILED) else 2
            painter.setPen(
                QPen(QColor("#000000") if selected else accent, 4 if selected else border)
            )
            painter.drawRoundedRect(rect, 8, 8)
            inner = rect.adjusted(8, 4, -8, -4)

            painter.setFont(fonts.big)
            painter.setPen(QColor("#111111"))
            number = str(s.slot or "–")
            painter.drawText(inner, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, number)
            number_width = painter.fontMetrics().horizontalAdvance(number) + 8
            painter.setFont(fonts.state)
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
                painter.setFont(fonts.tag)
                self._line(painter, inner, y, s.title)
                y += painter.fontMetrics().height()
                painter.setFont(fonts.body)
                line = painter.fontMetrics().height()
                step = step_label(s.step)
                if step and state not in (
                    JobState.RUNNING,
                    JobState.NEEDS_PERSON,
                    JobState.PAUSED,
                ):
                    step = ""
                self._line(
                    painter, inner, y, " · ".join(p for p in (platform_word(s.platform), step) if p)
                )
                y += line + 2
                if with_bar:
                    text_width = painter.fontMetrics().horizontalAdvance("100 %") + 6
                    bar = (inner.left(), y + 2, inner.width() - text_width, line - 6)
                    right, middle = inner.right() + 3, y + line // 2
                    y += line + 2
                action = s.action
                if action:
                    painter.setPen(QColor("#111111"))
                    painter.setFont(fonts.bold)
                    box = QRect(inner.left(), y, inner.width(), inner.bottom() - y)
                    painter.drawText(
                        box,
                        int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
                        | int(Qt.TextFlag.TextWordWrap),
                        action,
                    )
        finally:
            painter.end()
        return _Tile(key, picture, bar, right, middle, accent)

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
        self.tiles = TileDelegate(self)
        self.setItemDelegate(self.tiles)
        self.setGridSize(TILE)

    def paintEvent(self, event: QPaintEvent) -> None:
        """The tiles in view, each a cached picture and its progress.

        Drawn here rather than item by item through the delegate: Qt's per-item path (a
        style option per tile, several model calls, one call into Python each) cost more
        than the tiles themselves once they were cached.
        """
        model = self.model()
        if not isinstance(model, CartModel):
            super().paintEvent(event)
            return
        viewport = self.viewport()
        font = self.font()
        self.tiles.begin_paint(
            font, viewport.palette().color(viewport.backgroundRole()), viewport.devicePixelRatioF()
        )
        area = event.rect()
        selection = self.selectionModel()
        chosen = {i.row() for i in selection.selectedIndexes()} if selection else set()
        painter = QPainter(viewport)
        try:
            for row in range(model.rowCount()):
                rect = self.visualRect(model.index(row))
                if rect.intersects(area):
                    state = model.slot_state(row)
                    self.tiles.paint_tile(painter, rect, row, state, row in chosen, font)
        finally:
            painter.end()

    def changeEvent(self, event: QEvent) -> None:
        """Tiles drawn in another language or font are drawn again."""
        if event.type() in (QEvent.Type.LanguageChange, QEvent.Type.FontChange):
            self.tiles.clear_cache()
        super().changeEvent(event)

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Exactly ``columns`` tiles per row, as on the cart; all rows in view if they fit."""
        columns, rows = self.cart_layout.columns, self.cart_layout.rows
        width = max(MIN_TILE.width(), (self.viewport().width() - 24) // columns)
        fit = (self.viewport().height() - 8) // rows
        height = max(MIN_TILE.height(), min(TILE.height(), fit))
        grid = QSize(width, height)
        if grid != self.gridSize():
            self.tiles.clear_cache()  # pictures of the old size are never shown again
            self.setGridSize(grid)
        super().resizeEvent(event)
