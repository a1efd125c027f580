"""SFEW's feature sheet (the paper's dataset 1): constants, the table reader, the loader.

* Constants shared by every data module: :data:`CLASS_NAMES` (label order everywhere in
  bpnet), :class:`DataQuirkWarning`, :func:`movie_from_name` (the group of an image name).
* The table reader: finds the header however many rows it spans, maps the columns onto
  canonical names (``name``, ``label``, ``lpq_pc1`` ...) and parses cells, raising a
  ValueError that names the offending cell (``"SFEW.xlsx: cell D17 (lpq_pc2) is 'abc',
  expected a number"``).
* :func:`load_sfew_features` and :func:`save_features_csv`.

The real files have quirks (see ``README.md`` of the data): one row with empty PHOG values
and one image name listed twice with two different labels. The loader handles each one
explicitly and reports what it did in one :class:`DataQuirkWarning` per call. To compare the
sheet with an image folder of the same data, use :func:`bpnet.data.image_folder.cross_check`.
"""
from __future__ import annotations

import csv
import math
import re
import warnings
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from .sheet_guard import check_sheet_size, check_text

__all__ = [
    "CLASS_NAMES", "SFEW_FEATURE_NAMES", "DataQuirkWarning", "FeatureDataset", "RawTable",
    "class_summary", "format_quirks", "load_sfew_features", "movie_from_name", "read_table",
    "sample_ids", "save_features_csv",
]

#: Class order everywhere in bpnet. Label ``k`` (0..6) is ``CLASS_NAMES[k]``; the SFEW
#: sheet's labels are 1..7 in the same order.
CLASS_NAMES: tuple[str, ...] = ("Angry", "Disgust", "Fear", "Happy", "Neutral", "Sad", "Surprise")


class DataQuirkWarning(UserWarning):
    """A loader met a known irregularity in the data, handled it and says how."""


def class_summary(y, class_names: Sequence[str]) -> str:
    """``'Angry 100, Disgust 75, ...'``: the class counts of labels ``y``."""
    counts = np.bincount(np.asarray(y), minlength=len(class_names))
    return ", ".join(f"{c} {k}" for c, k in zip(class_names, counts))


def movie_from_name(name: str) -> str:
    """The movie (group) of an SFEW image name: everything before the last two ``_`` fields.

    ``'HarryPotter_Deathly_Hallows_1_001610960_00000028'`` -> ``'HarryPotter_Deathly_Hallows_1'``;
    a name with fewer than two ``_`` is its own group.
    """
    parts = name.rsplit("_", 2)
    return parts[0] if len(parts) == 3 else name


def sample_ids(names: Sequence[str], y, class_names: Sequence[str]) -> list[str]:
    """``"<Class>/<name>"`` per sample: the image's path in its folder, without the suffix.

    Unique even where one name is stored under two classes (SFEW's
    ``HarryPotter_Deathly_Hallows_1_001610960_00000028`` is in Fear and in Surprise), so a
    feature-sheet row and its image file are matched by it.
    """
    return [f"{class_names[int(c)]}/{name}" for name, c in zip(names, np.asarray(y))]


def format_quirks(source: str, quirks: Sequence[str]) -> str:
    """One warning message listing every quirk on its own line."""
    head = f"{source}: {len(quirks)} data quirk{'s' if len(quirks) != 1 else ''} handled:"
    return "\n  - ".join([head, *quirks])


# --- reading a table ------------------------------------------------------------
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


# --- the SFEW feature sheet ------------------------------------------------------
SFEW_FEATURE_NAMES: tuple[str, ...] = tuple(
    [f"lpq_pc{i}" for i in range(1, 6)] + [f"phog_pc{i}" for i in range(1, 6)]
)
_NAME_SUFFIXES = (".mat", ".png", ".jpg", ".jpeg")


@dataclass
class FeatureDataset:
    """Tabular features with labels and movie groups.

    Attributes
    ----------
    X : ndarray of float64, shape (n_samples, n_features)
    y : ndarray of int, shape (n_samples,)
        Class index 0..6 in :data:`CLASS_NAMES` order (the sheet's 1..7 minus 1).
    names : list of str, length n_samples
        Image names without extension.
    groups : ndarray of str, shape (n_samples,)
        Movie of each image, for grouped (person-independent) splits.
    feature_names : list of str, length n_features
    class_names : tuple of str
    """

    X: np.ndarray
    y: np.ndarray
    names: list[str]
    groups: np.ndarray
    feature_names: list[str] = field(default_factory=lambda: list(SFEW_FEATURE_NAMES))
    class_names: tuple[str, ...] = CLASS_NAMES

    def __post_init__(self) -> None:
        self.X = np.asarray(self.X, dtype=np.float64)
        self.y = np.asarray(self.y, dtype=np.int64)
        self.groups = np.asarray(self.groups, dtype=str)
        self.names = list(self.names)
        n = len(self.y)
        if self.X.ndim != 2 or self.X.shape[0] != n or len(self.names) != n or len(self.groups) != n:
            raise ValueError(
                f"inconsistent lengths: X {self.X.shape}, y {n}, names {len(self.names)}, "
                f"groups {len(self.groups)}")
        if self.X.shape[1] != len(self.feature_names):
            raise ValueError(f"X has {self.X.shape[1]} columns but "
                             f"{len(self.feature_names)} feature_names")
        if n and (self.y.min() < 0 or self.y.max() >= len(self.class_names)):
            raise ValueError(f"y must lie in 0..{len(self.class_names) - 1}")

    def __len__(self) -> int:
        return len(self.y)

    def __repr__(self) -> str:
        return (f"FeatureDataset(n={len(self)}, n_features={self.X.shape[1]}, "
                f"groups={len(np.unique(self.groups))}, classes: "
                f"{class_summary(self.y, self.class_names)})")

    @property
    def sample_ids(self) -> list[str]:
        """``"<Class>/<name>"`` per row (see :func:`sample_ids`)."""
        return sample_ids(self.names, self.y, self.class_names)

    def class_counts(self) -> np.ndarray:
        """Number of samples per class, shape (n_classes,)."""
        return np.bincount(self.y, minlength=len(self.class_names))

    def subset(self, index: np.ndarray) -> "FeatureDataset":
        """The rows selected by an integer or boolean ``index`` (e.g. a CV fold)."""
        index = np.asarray(index)
        if index.dtype == bool:
            index = np.flatnonzero(index)
        return FeatureDataset(self.X[index], self.y[index], [self.names[i] for i in index],
                              self.groups[index], list(self.feature_names), self.class_names)


def _strip_suffix(name: str) -> str:
    return name[: -len(Path(name).suffix)] if Path(name).suffix.lower() in _NAME_SUFFIXES else name


def _row_list(rows: Sequence[int], limit: int = 10) -> str:
    shown = ", ".join(str(r) for r in rows[:limit])
    return shown + (f" and {len(rows) - limit} more" if len(rows) > limit else "")


def load_sfew_features(
    path: str | Path,
    nan_policy: str = "mean",
    feature_names: Sequence[str] | None = SFEW_FEATURE_NAMES,
) -> FeatureDataset:
    """Load the SFEW feature sheet (``SFEW.xlsx``) or a CSV with the same columns.

    Parameters
    ----------
    path : str or Path
        ``.xlsx`` (first sheet; the header may span any number of rows, merged or
        not) or CSV with header ``name,label,lpq_pc1..lpq_pc5,phog_pc1..phog_pc5``
        (the layout :func:`save_features_csv` writes; columns may come in any order).
    nan_policy : {"mean", "drop"}
        What to do with a row holding missing values: fill each missing value with
        its column's mean over the rows that have one (keeps all 675 rows, as the
        paper and the reference figures do; the one filled row barely shifts any
        statistic, so the fill is not redone per CV fold), or drop the row.
    feature_names : sequence of str or None
        Feature columns to expect; None accepts whatever feature columns a CSV
        written by :func:`save_features_csv` holds (for other feature sets).

    Returns
    -------
    FeatureDataset
        ``X`` (n_samples, n_features) float64, finite.

    Warns
    -----
    DataQuirkWarning
        One warning listing every quirk met, with sheet rows, and what was done:

        * missing values: handled by ``nan_policy``;
        * duplicate names: all rows are kept. A repeated name may be two distinct
          images (the name is movie_frame_person), dropping one would change the
          published class counts (100 each, Disgust 75), and the grouped split puts
          same-name rows in the same fold since they share a movie;
        * label conflicts (one name with several labels): each row keeps its own
          sheet label. In the real sheet ``HarryPotter_Deathly_Hallows_1_001610960_
          00000028`` appears as Fear and as Surprise with identical features, and
          the image folder holds the image under Fear and Surprise alike, so the two
          sources agree and neither label can be called the wrong one
          (:func:`bpnet.data.image_folder.cross_check` confirms it).

    Raises
    ------
    ValueError
        Wrong column set, a non-numeric feature cell or a label outside 1..7 (the
        message names the cell), an unknown ``nan_policy``.
    """
    if nan_policy not in ("mean", "drop"):
        raise ValueError(f"nan_policy must be 'mean' or 'drop', got {nan_policy!r}")
    table = read_table(path, feature_names)
    required = ["name", "label"]
    found = table.columns
    if feature_names is None:
        features = [c for c in found if c not in required]
    else:
        features = list(feature_names)
    if sorted(found) != sorted(required + features) or len(set(found)) != len(found):
        raise ValueError(
            f"{table.source}: unexpected columns {found}; expected "
            f"{required + features} (in any order)")
    n_classes = len(CLASS_NAMES)
    names, y, rows = [], [], []
    for number, values in zip(table.row_numbers, table.rows):
        cell = dict(zip(found, values))

        def where(column: str, number: int = number) -> str:
            return f"{table.source}: {table.cell(number, column)}"

        name = cell["name"]
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"{where('name')} is {name!r}, expected an image name")
        names.append(_strip_suffix(name.strip()))
        y.append(parse_label(cell["label"], where("label"), n_classes))
        rows.append([parse_number(cell[f], where(f)) for f in features])
    X = np.array(rows, dtype=np.float64).reshape(len(rows), len(features))
    y = np.array(y, dtype=np.int64)
    sheet_rows = np.array(table.row_numbers)
    quirks = _name_quirks(names, y, X, sheet_rows)

    groups = np.array([movie_from_name(n) for n in names])
    missing = np.isnan(X)
    bad = np.flatnonzero(missing.any(axis=1))
    if bad.size:
        cols = sorted({features[j] for j in np.flatnonzero(missing[bad].any(axis=0))})
        what = ("filled with the column mean (nan_policy='mean')" if nan_policy == "mean"
                else "row dropped (nan_policy='drop')")
        quirks.insert(0, f"missing values (NaN) in {', '.join(cols)}: row{'s' if bad.size > 1 else ''} "
                         f"{_row_list([f'{sheet_rows[i]} ({names[i]})' for i in bad])}; {what}")
        if nan_policy == "mean":
            empty = [features[j] for j in np.flatnonzero(missing.all(axis=0))]
            if empty:
                raise ValueError(f"{table.source}: no values in column(s) {empty} to take a mean of")
            X = np.where(missing, np.nanmean(X, axis=0), X)
        else:
            keep = ~missing.any(axis=1)
            X, y, groups = X[keep], y[keep], groups[keep]
            names = [n for n, k in zip(names, keep) if k]
    dataset = FeatureDataset(X, y, names, groups, list(features), CLASS_NAMES)
    if quirks:
        warnings.warn(format_quirks(table.source, quirks), DataQuirkWarning, stacklevel=2)
    return dataset


def _name_quirks(names: list[str], y: np.ndarray, X: np.ndarray, rows: np.ndarray) -> list[str]:
    """Report lines for duplicate names and for names that carry several labels."""
    where = defaultdict(list)
    for i, name in enumerate(names):
        where[name].append(i)
    lines = []
    for name, idx in where.items():
        if len(idx) < 2:
            continue
        same = np.allclose(X[idx], X[idx[0]], equal_nan=True)
        lines.append(
            f"duplicate name: {name!r} occurs in rows {_row_list(list(rows[idx]))} "
            f"({'identical' if same else 'different'} features); all rows kept")
        labels = sorted({int(y[i]) for i in idx})
        if len(labels) > 1:
            as_what = " and ".join(f"{CLASS_NAMES[y[i]]} (row {rows[i]})" for i in idx)
            lines.append(
                f"label conflict: {name!r} is labelled {as_what}; each row keeps its own "
                f"sheet label, so the image counts once per label")
    return lines


def save_features_csv(dataset: FeatureDataset, path: str | Path) -> Path:
    """Write ``name,label,<features>`` (labels 1..7) that :func:`load_sfew_features` reads back.

    Parameters
    ----------
    dataset : FeatureDataset
    path : str or Path
        Destination CSV file; its folder is created if needed.

    Returns
    -------
    Path
        ``path``. Floats are written with ``repr`` so that the round trip is exact.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["name", "label", *dataset.feature_names])
        for name, label, x in zip(dataset.names, dataset.y, dataset.X):
            writer.writerow([name, int(label) + 1, *(repr(float(v)) for v in x)])
    return path
