"""Reading a feature table (``.xlsx`` or CSV) into named, raw cells.

:func:`read_table` finds the header however many rows it spans (merged cells included),
maps the columns onto canonical names (``name``, ``label``, ``lpq_pc1`` ...) and keeps the
cells raw; :func:`parse_number` and :func:`parse_label` then parse them, raising a
ValueError that names the offending cell (``"SFEW.xlsx: cell D17 (lpq_pc2) is 'abc',
expected a number"``). :func:`bpnet.data.sfew.load_sfew_features` is built on these.
"""
from __future__ import annotations

import csv
import math
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from .sheet_guard import check_sheet_size, check_text

__all__ = ["MISSING_TOKENS", "RawTable", "column_letter", "is_missing", "parse_label",
           "parse_number", "read_table"]

# Spellings of "no value" found in spreadsheets exported from MATLAB, R and Excel;
# the real SFEW.xlsx stores its missing PHOG values as the text 'NaN'.
MISSING_TOKENS = frozenset({"", "nan", "na", "n/a", "#n/a", "null", "none"})
_GROUP_PATTERNS = {
    "lpq": re.compile(r"\blpq|local phase"),
    "phog": re.compile(r"phog|histogram of (oriented )?gradients"),
}
_PC_INDEX = re.compile(r"\bpc[ _]?(\d+)\b")
_NAME_HEADERS = frozenset({"", "name", "image", "image_name", "file", "filename"})


@dataclass
class RawTable:
    """Data rows of a table, with canonical column names.

    Attributes
    ----------
    source : str
        File name used in messages.
    columns : list of str
        Canonical name of each column, in file order.
    rows : list of list
        Raw cell values of the data rows, each padded to ``len(columns)``.
    row_numbers : list of int
        1-based sheet row (xlsx) or line (csv) of each data row.
    """

    source: str
    columns: list[str]
    rows: list[list[object]]
    row_numbers: list[int]

    def cell(self, row_number: int, column: str) -> str:
        """Spreadsheet reference of a cell, e.g. ``'cell D17 (lpq_pc2)'``."""
        j = self.columns.index(column)
        return f"cell {column_letter(j)}{row_number} ({column})"


def column_letter(j: int) -> str:
    """Spreadsheet letter of 0-based column ``j`` (0 -> 'A', 26 -> 'AA')."""
    letters = ""
    j += 1
    while j:
        j, rem = divmod(j - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def is_missing(value: object) -> bool:
    """True for an empty cell, a NaN float or a textual NaN marker."""
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    return isinstance(value, str) and value.strip().lower() in MISSING_TOKENS


def _as_float(value: object) -> float | None:
    """The number in a cell, or None when it does not hold one (bools excluded)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def parse_number(value: object, where: str) -> float:
    """A finite float, NaN for a missing cell; ValueError naming ``where`` otherwise."""
    if is_missing(value):
        return math.nan
    number = _as_float(value)
    if number is None or not math.isfinite(number):
        raise ValueError(f"{where} is {value!r}, expected a number")
    return number


def parse_label(value: object, where: str, n_classes: int) -> int:
    """The 0-based class of a 1-based label cell; ValueError naming ``where`` otherwise."""
    number = None if is_missing(value) else _as_float(value)
    if number is None or number != round(number) or not 1 <= number <= n_classes:
        raise ValueError(f"{where} is {value!r}, expected a label in 1..{n_classes}")
    return int(number) - 1


def _normalise(text: object) -> str:
    return re.sub(r"[\s\-]+", "_", str(text).strip().lower()) if text is not None else ""


def _is_data_row(values: Sequence[object]) -> bool:
    # A data row has a name and mostly numbers after it; a header row holds text (or,
    # as a sub-header of component numbers, no name).
    if is_missing(values[0]):
        return False
    cells = [v for v in values[1:] if not is_missing(v)]
    return bool(cells) and 2 * sum(_as_float(v) is not None for v in cells) >= len(cells)


def _canonical_columns(header: list[list[object]], expected: Sequence[str] | None) -> list[str]:
    """Map the header rows (merged cells already filled) onto one name per column.

    An empty header cell right of a group label ("... (LPQ) features" spanning five
    columns) belongs to that group, so it is forward-filled; an exact column name
    such as ``lpq_pc3`` is never forward-filled.
    """
    exact = {"name", "label", *(expected or ())}
    filled = []
    for row in header:
        row = list(row)
        for j in range(2, len(row)):
            if is_missing(row[j]) and _normalise(row[j - 1]) not in exact:
                row[j] = row[j - 1]
        filled.append(row)
    counts = {group: 0 for group in _GROUP_PATTERNS}
    names = []
    for j in range(len(header[0])):
        texts = [_normalise(row[j]) for row in filled if not is_missing(row[j])]
        hit = next((t for t in texts if t in exact), None)
        joined = " ".join(texts)
        if hit is not None:
            names.append(hit)
        elif j == 0 and joined in _NAME_HEADERS:
            names.append("name")
        elif "label" in joined:
            names.append("label")
        elif expected is not None and (
            group := next((g for g, p in _GROUP_PATTERNS.items() if p.search(joined)), None)
        ):
            counts[group] += 1
            index = _PC_INDEX.search(joined)
            names.append(f"{group}_pc{index.group(1) if index else counts[group]}")
        else:
            names.append(joined or f"<unnamed column {column_letter(j)}>")
    return names


def _read_xlsx(path: Path) -> tuple[list[tuple[int, list[object]]], list[tuple[int, int, int, int]]]:
    import zipfile

    import openpyxl  # imported here so that CSV users never pay for it

    try:
        with warnings.catch_warnings():
            # The real SFEW.xlsx carries an Excel extension openpyxl does not know; its
            # "Unknown extension is not supported" warning is noise for a data reader.
            warnings.filterwarnings("ignore", message="Unknown extension", category=UserWarning)
            book = openpyxl.load_workbook(path, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        what = "it is empty" if path.stat().st_size == 0 else f"{type(exc).__name__}: {exc}"
        raise ValueError(f"{path.name} is not a readable Excel workbook ({what})") from None
    sheet = book.worksheets[0]
    rows = [(cells[0].row, [c.value for c in cells]) for cells in sheet.iter_rows()]
    merged = [(r.min_row, r.min_col - 1, r.max_row, r.max_col - 1) for r in sheet.merged_cells.ranges]
    book.close()
    return rows, merged


def _decode_text(path: Path) -> tuple[str, str]:
    """The file's text and the encoding used: UTF-8 (with or without a byte-order mark),
    UTF-16 (with its mark, as Excel's "Unicode text"), else Windows-1252 / Latin-1."""
    raw = path.read_bytes()
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return raw.decode("utf-16"), "UTF-16"
    try:
        return raw.decode("utf-8-sig"), "UTF-8"
    except UnicodeDecodeError:
        try:
            return raw.decode("cp1252"), "Windows-1252"
        except UnicodeDecodeError:
            return raw.decode("latin-1"), "Latin-1"


def _read_csv(path: Path) -> list[tuple[int, list[object]]]:
    text, _ = _decode_text(path)
    check_text(path, text)
    lines = text.splitlines()
    if not lines:
        return []
    # Excel in many European locales writes ';' between fields and ',' as the decimal mark
    sample = "\n".join(lines[:20])
    delimiter = max((",", ";", "\t"), key=sample.count)
    rows = list(csv.reader(lines, delimiter=delimiter))
    if delimiter != ",":
        rows = [[c.replace(",", ".") if _DECIMAL_COMMA.fullmatch(c.strip()) else c for c in row]
                for row in rows]
    return [(i, row) for i, row in enumerate(rows, start=1)]


_DECIMAL_COMMA = re.compile(r"[+-]?\d+,\d*(?:[eE][+-]?\d+)?")


def read_table(path: str | Path, expected: Sequence[str] | None) -> RawTable:
    """Read ``path`` (``.xlsx``/``.xlsm`` or anything else as CSV) into a RawTable.

    Parameters
    ----------
    path : str or Path
        The table. For a workbook, the first sheet is read.
    expected : sequence of str or None
        Canonical feature column names used to recognise group headers; None keeps
        the feature columns' own (normalised) header text.

    Returns
    -------
    RawTable
        Leading non-numeric rows form the header; blank rows are dropped.
    """
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path} is a folder, not a feature table (.xlsx or .csv)")
    if not path.is_file():
        raise FileNotFoundError(f"feature table not found: {path}")
    check_sheet_size(path)  # before anything is unpacked or read
    merged: list[tuple[int, int, int, int]] = []
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        rows, merged = _read_xlsx(path)
    else:
        rows = _read_csv(path)
    rows = [(n, v) for n, v in rows if not all(is_missing(x) for x in v)]
    if not rows:
        raise ValueError(f"{path.name}: the table is empty")
    width = max(max(j for j, x in enumerate(v) if not is_missing(x)) + 1 for _, v in rows)
    rows = [(n, (list(v) + [None] * width)[:width]) for n, v in rows]
    n_header = next((i for i, (_, v) in enumerate(rows) if _is_data_row(v)), len(rows))
    if n_header == 0:
        raise ValueError(f"{path.name}: row {rows[0][0]} holds numbers, expected a header row")
    if n_header == len(rows):
        raise ValueError(f"{path.name}: no data rows below the header")
    header = [v for _, v in rows[:n_header]]
    header_numbers = [n for n, _ in rows[:n_header]]
    row_of = {n: i for i, n in enumerate(header_numbers)}
    for min_row, min_col, max_row, max_col in merged:
        # A merged header cell holds its text only in its top-left corner.
        if min_row not in row_of:
            continue
        value = header[row_of[min_row]][min_col]
        for n in range(min_row, max_row + 1):
            if n in row_of:
                header[row_of[n]][min_col:max_col + 1] = [value] * (min(max_col + 1, width) - min_col)
    columns = _canonical_columns(header, expected)
    data = rows[n_header:]
    return RawTable(path.name, columns, [v for _, v in data], [n for n, _ in data])
