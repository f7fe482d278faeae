"""German and English through Qt's translation system; the sources are in resources/i18n.

Every module of the window words its text with ``_t(text)``, a ``QCoreApplication.translate``
under the module's ``_CONTEXT``. :func:`source_strings` reads those calls from the source, so
``python -m station.ui.i18n`` can bring ``station_de.ts`` up to date (the tests check it is).

The core's messages (:mod:`station.messages`) are not ``_t`` calls: lupdate-style reading
cannot see them, because the window translates whatever template a message matches at run
time. :func:`source_strings` therefore adds the catalog itself, in the ``Messages`` context,
read from the module's objects rather than from generated code, so there is no second copy of
the catalog to keep in step.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QTranslator

from station import messages
from station.ui.texts import MESSAGES_CONTEXT

I18N_DIR = Path(__file__).resolve().parents[2] / "resources" / "i18n"
UI_DIR = Path(__file__).resolve().parent


def default_language(locale: QLocale | None = None) -> str:
    """German on a German system, English otherwise."""
    locale = locale or QLocale.system()
    return "de" if locale.language() == QLocale.Language.German else "en"


def install_translators(app: QCoreApplication, language: str) -> list[QTranslator]:
    """Load our translation (and Qt's own, for its dialogs); keep the result alive."""
    if language == "en":
        return []
    installed: list[QTranslator] = []
    ours = QTranslator(app)
    if ours.load(str(I18N_DIR / f"station_{language}.qm")):
        app.installTranslator(ours)
        installed.append(ours)
    qt = QTranslator(app)
    qt_dir = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
    if qt.load(f"qtbase_{language}", qt_dir):
        app.installTranslator(qt)
        installed.append(qt)
    return installed


def _module_strings(path: Path) -> Iterator[tuple[str, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    context = ""
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "_CONTEXT" for t in node.targets)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            context = node.value.value
    for call in ast.walk(tree):
        if not isinstance(call, ast.Call) or not call.args:
            continue
        func = call.func
        if isinstance(func, ast.Name) and func.id == "_t" and context:
            arg = call.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                yield context, arg.value


def catalog_strings() -> list[str]:
    """The core's message templates, in the order station/messages.py defines them."""
    found = {v: None for v in vars(messages).values() if isinstance(v, messages.Template)}
    return [str(template) for template in found]


def source_strings(folder: Path = UI_DIR) -> dict[str, list[str]]:
    """Context -> its source strings, in order of first appearance (the catalog last)."""
    found: dict[str, dict[str, None]] = {}
    for path in sorted(folder.glob("*.py")):
        for context, text in _module_strings(path):
            found.setdefault(context, {})[text] = None
    found[MESSAGES_CONTEXT] = dict.fromkeys(catalog_strings())
    return {context: list(texts) for context, texts in found.items()}


def read_ts(path: Path) -> dict[tuple[str, str], str]:
    """(context, source) -> translation ("" when unfinished)."""
    root = ElementTree.parse(path).getroot()
    out: dict[tuple[str, str], str] = {}
    for ctx in root.iter("context"):
        name = ctx.findtext("name") or ""
        for message in ctx.iter("message"):
            translation = message.find("translation")
            done = translation is not None and translation.get("type") != "unfinished"
            text = (translation.text or "") if translation is not None and done else ""
            out[(name, message.findtext("source") or "")] = text
    return out


def write_ts(path: Path, language: str, translations: dict[tuple[str, str], str]) -> None:
    """A Qt Linguist .ts file with every source string (untranslated ones unfinished)."""
    root = ElementTree.Element("TS", version="2.1", language=language)
    for context, texts in source_strings().items():
        ctx = ElementTree.SubElement(root, "context")
        ElementTree.SubElement(ctx, "name").text = context
        for text in texts:
            message = ElementTree.SubElement(ctx, "message")
            ElementTree.SubElement(message, "source").text = text
            done = translations.get((context, text), "")
            translation = ElementTree.SubElement(message, "translation")
            if done:
                translation.text = done
            else:
                translation.set("type", "unfinished")
    ElementTree.indent(root)
    body = ElementTree.tostring(root, encoding="unicode")
    path.write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE TS>\n' + body + "\n", encoding="utf-8"
    )


def main() -> int:
    """Update station_de.ts from the sources (keeping every translation already there), then
    compile it when pyside6-lrelease is at hand."""
    path = I18N_DIR / "station_de.ts"
    old = read_ts(path) if path.exists() else {}
    # A text that moved to another context (a hint now in the catalog) keeps its translation.
    by_source = {source: text for (_ctx, source), text in old.items() if text}
    for context, texts in source_strings().items():
        for text in texts:
            if not old.get((context, text)) and text in by_source:
                old[(context, text)] = by_source[text]
    write_ts(path, "de_DE", old)
    missing = [k for k, v in read_ts(path).items() if not v]
    sys.stderr.write(f"{path}: {len(missing)} strings untranslated\n")
    lrelease = Path(sys.executable).with_name("pyside6-lrelease")
    if lrelease.exists():
        qm = path.with_suffix(".qm")
        subprocess.run([str(lrelease), "-silent", str(path), "-qm", str(qm)], check=True)
    return 0 if not missing else 1


if __name__ == "__main__":
    raise SystemExit(main())
