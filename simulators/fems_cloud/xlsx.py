"""A minimal, valid XLSX workbook written with the standard library only.

An XLSX file is a zip of XML parts (ECMA-376): the content types, the package
relationships, the workbook with its relationships, and one XML part per sheet. Strings
are written inline (`t="inlineStr"`), so no shared-string table is needed. Entries get a
fixed timestamp, so the same rows always give the same bytes.
"""

from __future__ import annotations

import io
import math
import zipfile
from collections.abc import Sequence
from xml.sax.saxutils import escape, quoteattr

type Cell = str | int | float | None
type Sheet = tuple[str, Sequence[Sequence[Cell]]]

_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_SHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
_WORKBOOK_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
_XML_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_FIXED_TIME = (2024, 1, 1, 0, 0, 0)


def build_xlsx(sheets: Sequence[Sheet]) -> bytes:
    """A workbook with one worksheet per `(name, rows)`; `None` cells stay empty."""
    if not sheets:
        raise ValueError("a workbook needs at least one sheet")
    parts = {
        "[Content_Types].xml": _content_types(len(sheets)),
        "_rels/.rels": _package_rels(),
        "xl/workbook.xml": _workbook([name for name, _ in sheets]),
        "xl/_rels/workbook.xml.rels": _workbook_rels(len(sheets)),
    }
    for number, (_, rows) in enumerate(sheets, start=1):
        parts[f"xl/worksheets/sheet{number}.xml"] = _worksheet(rows)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, text.encode())
    return buffer.getvalue()


def column_letters(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA: the column part of a cell reference."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


def _content_types(sheet_count: int) -> str:
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="{_SHEET_TYPE}"/>'
        for n in range(1, sheet_count + 1)
    )
    return (
        f"{_XML_DECL}"
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{_WORKBOOK_TYPE}"/>'
        f"{overrides}</Types>"
    )


def _package_rels() -> str:
    return (
        f'{_XML_DECL}<Relationships xmlns="{_PKG_REL_NS}">'
        f'<Relationship Id="rId1" Type="{_REL_NS}/officeDocument" Target="xl/workbook.xml"/>'
        "</Relationships>"
    )


def _workbook(names: list[str]) -> str:
    sheets = "".join(
        f'<sheet name={quoteattr(name[:31])} sheetId="{n}" r:id="rId{n}"/>'
        for n, name in enumerate(names, start=1)
    )
    return (
        f'{_XML_DECL}<workbook xmlns="{_MAIN_NS}" xmlns:r="{_REL_NS}">'
        f"<sheets>{sheets}</sheets></workbook>"
    )


def _workbook_rels(sheet_count: int) -> str:
    relationships = "".join(
        f'<Relationship Id="rId{n}" Type="{_REL_NS}/worksheet" Target="worksheets/sheet{n}.xml"/>'
        for n in range(1, sheet_count + 1)
    )
    return f'{_XML_DECL}<Relationships xmlns="{_PKG_REL_NS}">{relationships}</Relationships>'


def _worksheet(rows: Sequence[Sequence[Cell]]) -> str:
    lines = []
    for row_number, row in enumerate(rows, start=1):
        cells = "".join(
            _cell(f"{column_letters(column)}{row_number}", value)
            for column, value in enumerate(row)
            if _writable(value)
        )
        lines.append(f'<row r="{row_number}">{cells}</row>')
    sheet_data = "".join(lines)
    return (
        f'{_XML_DECL}<worksheet xmlns="{_MAIN_NS}"><sheetData>{sheet_data}</sheetData></worksheet>'
    )


def _writable(value: Cell) -> bool:
    """Empty and non-finite cells are left out (a spreadsheet has no NaN)."""
    if isinstance(value, float):
        return math.isfinite(value)
    return value is not None


def _cell(reference: str, value: Cell) -> str:
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, str):
        return f'<c r="{reference}" t="inlineStr"><is><t>{escape(value)}</t></is></c>'
    return f'<c r="{reference}"><v>{value!r}</v></c>'
