"""Word .docx files: paragraphs and tables in document order, as Word shows them."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from ingest.loaders.failure import LoadFailure
from ingest.loaders.limits import ExpansionLimits
from ingest.loaders.office_package import check_package
from ingest.loaders.text import CELL_SEPARATOR, OLE2_MAGIC
from ingest.model import LoadedDocument


def load_docx(path: Path, data: bytes, limits: ExpansionLimits) -> LoadedDocument:
    if not zipfile.is_zipfile(io.BytesIO(data)):
        head = data[:1024].lstrip()
        if head.startswith(OLE2_MAGIC):
            raise LoadFailure(
                "looks like an old .doc file (or a password-protected document), not .docx; "
                "open it in Word or WPS and save it as .docx"
            )
        if head.startswith(b"{\\rtf"):
            raise LoadFailure(
                "is an RTF file, not .docx; open it in Word or WPS and save it as .docx"
            )
        if head[:512].lower().lstrip(b"\xef\xbb\xbf").startswith((b"<!doctype", b"<html")):
            raise LoadFailure("is a web page saved with a .docx name; rename it to .html")
        raise LoadFailure("not a valid .docx (corrupt or not a Word file)")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            check_package(package, limits)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError):
        raise LoadFailure("not a valid .docx (corrupt or not a Word file)") from None

    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(io.BytesIO(data))
        lines: list[str] = []
        for block in document.iter_inner_content():
            if isinstance(block, Paragraph):
                lines.append(_docx_paragraph_text(block))
            elif isinstance(block, Table):
                lines.extend(_docx_table_lines(block))
    except Exception:  # python-docx raises KeyError, ValueError, lxml errors... on bad packages
        raise LoadFailure("not a valid .docx (corrupt or not a Word file)") from None
    text = "\n".join(lines)
    if not text.strip():
        raise LoadFailure(
            "the document contains no text (only images? scanned pages are not supported: "
            "OCR is not supported, convert it to text first)"
        )
    return LoadedDocument(source=path, text=text, format="docx")


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"
_DOCX_SKIP = {
    f"{_W}del",
    f"{_W}moveFrom",
    f"{_W}txbxContent",
    f"{_W}pPr",
    f"{_W}rPr",
    f"{_MC}Fallback",
}


def _docx_paragraph_text(paragraph: object) -> str:
    """A paragraph's text as Word shows it.

    Unlike `Paragraph.text`, keeps text in tracked insertions, smart tags, inline content
    controls and fields (all of which Word displays), and still drops tracked deletions and
    floating text boxes.
    """
    root = paragraph._p  # type: ignore[attr-defined]
    parts: list[str] = []
    for el in root.iter(f"{_W}t", f"{_W}tab", f"{_W}br", f"{_W}cr", f"{_W}noBreakHyphen"):
        node, skip = el.getparent(), False
        while node is not None and node is not root:
            if node.tag in _DOCX_SKIP:
                skip = True
                break
            node = node.getparent()
        if skip:
            continue
        tag = el.tag[len(_W) :]
        if tag == "t":
            parts.append(el.text or "")
        elif tag == "tab":
            parts.append("\t")
        elif tag == "cr" or (tag == "br" and el.get(f"{_W}type") in (None, "textWrapping")):
            parts.append("\n")
        elif tag == "noBreakHyphen":
            parts.append("-")
    return "".join(parts)


def _docx_cell_text(cell: object) -> str:
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    parts: list[str] = []
    for block in cell.iter_inner_content():  # type: ignore[attr-defined]
        if isinstance(block, Paragraph):
            parts.append(_docx_paragraph_text(block).strip())
        elif isinstance(block, Table):
            parts.extend(line.replace(CELL_SEPARATOR, " ") for line in _docx_table_lines(block))
    return " ".join(p for p in parts if p)


def _docx_table_lines(table: object) -> list[str]:
    """One line per row, cells joined by `CELL_SEPARATOR`.

    python-docx returns a merged cell once per grid column and row it spans; a vertically merged
    cell stays in every row (each row reads whole), a horizontal span is kept once per row.
    """
    lines: list[str] = []
    for row in table.rows:  # type: ignore[attr-defined]
        cells: list[str] = []
        previous = None
        for cell in row.cells:
            if cell._tc is previous:
                continue
            previous = cell._tc
            text = _docx_cell_text(cell)
            if text:
                cells.append(text)
        if cells:
            lines.append(CELL_SEPARATOR.join(cells))
    return lines
