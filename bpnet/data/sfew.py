"""SFEW's feature sheet (the paper's dataset 1): constants and the loader.

* Constants shared by every data module: :data:`CLASS_NAMES` (label order everywhere in
  bpnet), :class:`DataQuirkWarning`, :func:`movie_from_name` (the group of an image name).
* The sheet is read by :mod:`bpnet.data.table_reader`, whose errors name the offending
  cell.
* :func:`load_sfew_features` and :func:`save_features_csv`.

The real files have quirks (see ``README.md`` of the data): one row with empty PHOG values
and one image name listed twice with two different labels. The loader handles each one
explicitly and reports what it did in one :class:`DataQuirkWarning` per call. To compare the
sheet with an image folder of the same data, use :func:`bpnet.data.image_folder.cross_check`.
"""
from __future__ import annotations

import csv
import warnings
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from .table_reader import parse_label, parse_number, read_table

__all__ = [
    "CLASS_NAMES", "SFEW_FEATURE_NAMES", "DataQuirkWarning", "FeatureDataset", "class_summary",
    "format_quirks", "load_sfew_features", "movie_from_name", "one_line", "sample_ids",
    "save_features_csv",
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
    return _QUIRK_ITEM.join([head, *quirks])


_QUIRK_ITEM = "\n  - "


def one_line(message: str) -> str:
    """A warning message on one line, for a report: a :func:`format_quirks` list becomes
    ``"SFEW.xlsx: 2 data quirks handled: a; b"``; any other line break a space."""
    return message.replace(":" + _QUIRK_ITEM, ": ").replace(_QUIRK_ITEM, "; ").replace("\n", " ")


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
    import io

    from ..outdir import atomic_write_text

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(["name", "label", *dataset.feature_names])
    for name, label, x in zip(dataset.names, dataset.y, dataset.X):
        writer.writerow([name, int(label) + 1, *(repr(float(v)) for v in x)])
    # through a temporary file: a full disk names the file and leaves no half table
    return atomic_write_text(path, text.getvalue())
