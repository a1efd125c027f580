"""Classification metrics for the paper's result tables.

Confusion matrices follow scikit-learn's convention: rows are the true class,
columns the predicted class. Per-class precision, recall (sensitivity),
specificity and F1 are computed from one confusion matrix, so metrics pooled
over cross-validation folds are simply the metrics of the summed matrix
(:func:`pool_confusion`).

Every ratio whose denominator is zero is defined as 0.0 (scikit-learn's
``zero_division=0``) and raises no warning.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Sequence

import numpy as np
from numpy.typing import ArrayLike

from .input_checks import check_labels

__all__ = [
    "ClassMetrics",
    "accuracy",
    "accuracy_mean_std",
    "confusion_matrix",
    "format_confusion",
    "format_table",
    "per_class_metrics",
    "pool_confusion",
]

Fmt = Literal["text", "markdown"]


def _check_pair(
    y_true: ArrayLike, y_pred: ArrayLike, n_classes: int | None
) -> tuple[np.ndarray, np.ndarray, int]:
    """Validate two label vectors against each other and against ``n_classes``."""
    t = check_labels(y_true, "y_true")
    p = check_labels(y_pred, "y_pred")
    if t.shape != p.shape:
        raise ValueError(f"y_true and y_pred differ in length: {t.size} != {p.size}")
    hi = max(int(t.max()), int(p.max()))
    if n_classes is None:
        n_classes = hi + 1
    elif n_classes < 1:
        raise ValueError(f"n_classes must be >= 1, got {n_classes}")
    elif hi >= n_classes:
        raise ValueError(f"label {hi} out of range for n_classes={n_classes}")
    return t, p, int(n_classes)


def _safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` elementwise, 0.0 where ``den == 0`` (no warning)."""
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    out = np.zeros(np.broadcast(num, den).shape)
    np.divide(num, den, out=out, where=den != 0)
    return out


def confusion_matrix(
    y_true: ArrayLike, y_pred: ArrayLike, n_classes: int | None = None
) -> np.ndarray:
    """Confusion matrix with rows = true class, columns = predicted class.

    Parameters
    ----------
    y_true, y_pred : (n_samples,) int array-like
        Class labels in ``0 .. n_classes - 1``.
    n_classes : int, optional
        Number of classes C; default ``max label + 1``.

    Returns
    -------
    cm : (C, C) int64 ndarray
        ``cm[i, j]`` counts samples of true class ``i`` predicted as ``j``.

    Raises
    ------
    ValueError
        On mismatched inputs, negative labels or labels >= ``n_classes``; on empty inputs
        unless ``n_classes`` is given (no samples: a matrix of zeros).
    """
    if n_classes is not None and np.size(y_true) == 0 and np.size(y_pred) == 0:
        return np.zeros((n_classes, n_classes), dtype=np.int64)
    t, p, c = _check_pair(y_true, y_pred, n_classes)
    # One bincount over the flattened (true, pred) index: no loop over samples.
    return np.bincount(t * c + p, minlength=c * c).reshape(c, c)


def accuracy(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Fraction of samples whose predicted label equals the true one.

    Parameters
    ----------
    y_true, y_pred : (n_samples,) int array-like

    Returns
    -------
    float
    """
    t, p, _ = _check_pair(y_true, y_pred, None)
    return float(np.mean(t == p))


def _check_cm(cm: ArrayLike) -> np.ndarray:
    arr = np.asarray(cm)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1] or arr.shape[0] == 0:
        raise ValueError(f"cm must be a non-empty square (C, C) matrix, got shape {arr.shape}")
    if np.any(arr < 0):
        raise ValueError("cm must hold non-negative counts")
    return arr


@dataclass(frozen=True, eq=False)
class ClassMetrics:
    """Per-class metrics of one confusion matrix.

    Attributes
    ----------
    precision, recall, specificity, f1 : (C,) float ndarray
        ``TP/(TP+FP)``, ``TP/(TP+FN)`` (sensitivity), ``TN/(TN+FP)`` and
        ``2TP/(2TP+FP+FN)``; 0.0 wherever the denominator is 0.
    support : (C,) int ndarray
        Number of true samples of each class (row sums of ``confusion``).
    confusion : (C, C) int ndarray
        The matrix these were computed from.
    """

    precision: np.ndarray
    recall: np.ndarray
    specificity: np.ndarray
    f1: np.ndarray
    support: np.ndarray
    confusion: np.ndarray

    def __post_init__(self) -> None:
        # Frozen means frozen: private read-only copies, so a caller cannot
        # change a reported number through an alias of the input matrix.
        for name in ("precision", "recall", "specificity", "f1", "support", "confusion"):
            arr = np.array(getattr(self, name))
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)

    @property
    def n_classes(self) -> int:
        return int(self.support.size)

    @property
    def accuracy(self) -> float:
        """Overall accuracy, ``trace(cm) / sum(cm)``."""
        return float(_safe_div(np.trace(self.confusion), self.confusion.sum()))

    @property
    def balanced_accuracy(self) -> float:
        """Mean recall over the classes present in the true labels (scikit-learn's definition).

        Chance level is 1/C whatever the class imbalance; a class absent from ``y_true``
        is left out rather than counted as recall 0 (as ``macro["recall"]`` does).
        """
        present = self.support > 0
        return float(self.recall[present].mean()) if present.any() else 0.0

    @property
    def kappa(self) -> float:
        """Cohen's kappa, ``(p_o - p_e) / (1 - p_e)``: agreement beyond chance.

        ``p_o`` is the accuracy and ``p_e = sum_k row_k * col_k / n**2`` the agreement of
        two raters who kept the observed marginals but labelled at random. 0 is chance,
        1 perfect; 0.0 when ``p_e == 1`` (one class everywhere). Cohen, Educational and
        Psychological Measurement 20(1):37-46, 1960.
        """
        n = float(self.confusion.sum())
        if n == 0:
            return 0.0
        p_e = float(self.confusion.sum(axis=1) @ self.confusion.sum(axis=0)) / n ** 2
        return float(_safe_div(self.accuracy - p_e, 1.0 - p_e))

    @property
    def macro(self) -> dict[str, float]:
        """Unweighted means over classes of precision, recall, specificity, F1.

        Every class counts, including classes with zero support, as with
        scikit-learn's ``average="macro"`` given all labels.
        """
        return {
            "precision": float(self.precision.mean()),
            "recall": float(self.recall.mean()),
            "specificity": float(self.specificity.mean()),
            "f1": float(self.f1.mean()),
        }


def per_class_metrics(
    y_true: ArrayLike | None = None,
    y_pred: ArrayLike | None = None,
    n_classes: int | None = None,
    *,
    cm: ArrayLike | None = None,
) -> ClassMetrics:
    """Precision, recall, specificity, F1 and support for every class.

    Give either label vectors or a confusion matrix ``cm`` (for instance the
    pooled matrix of all cross-validation folds).

    Parameters
    ----------
    y_true, y_pred : (n_samples,) int array-like, optional
    n_classes : int, optional
        Number of classes C when labels are given; default ``max label + 1``.
    cm : (C, C) int array-like, optional
        Rows = true class, columns = predicted class.

    Returns
    -------
    ClassMetrics

    Notes
    -----
    With ``TP = cm[k, k]``, ``FP`` the rest of column k, ``FN`` the rest of
    row k and ``TN`` everything else:

    precision = TP/(TP+FP), recall = TP/(TP+FN), specificity = TN/(TN+FP),
    F1 = 2TP/(2TP+FP+FN).

    A zero denominator gives 0.0 with no warning: precision of a class that is
    never predicted, recall of a class absent from ``y_true``, specificity when
    every sample belongs to the class, F1 when the class is neither present nor
    predicted. This matches scikit-learn's ``zero_division=0``.
    """
    if cm is not None:
        if y_true is not None or y_pred is not None:
            raise ValueError("give either y_true/y_pred or cm, not both")
        mat = _check_cm(cm)
    else:
        if y_true is None or y_pred is None:
            raise ValueError("give y_true and y_pred, or cm")
        mat = confusion_matrix(y_true, y_pred, n_classes)
    tp = np.diag(mat)
    pred_pos = mat.sum(axis=0)
    support = mat.sum(axis=1)
    fp = pred_pos - tp
    fn = support - tp
    negatives = mat.sum() - support  # TN + FP
    return ClassMetrics(
        precision=_safe_div(tp, pred_pos),
        recall=_safe_div(tp, support),
        specificity=_safe_div(negatives - fp, negatives),
        f1=_safe_div(2 * tp, 2 * tp + fp + fn),
        support=support.astype(np.int64),
        confusion=mat,
    )


def pool_confusion(cms: Sequence[ArrayLike] | np.ndarray) -> np.ndarray:
    """Sum per-fold confusion matrices into one pooled matrix.

    Parameters
    ----------
    cms : (K, C, C) int array-like
        One confusion matrix per cross-validation fold.

    Returns
    -------
    (C, C) int ndarray
    """
    arr = np.asarray(cms)
    if arr.ndim != 3 or arr.shape[0] == 0:
        raise ValueError(f"cms must have shape (K, C, C) with K >= 1, got {arr.shape}")
    for m in arr:
        _check_cm(m)
    return arr.sum(axis=0)


def accuracy_mean_std(cms: Sequence[ArrayLike] | np.ndarray, ddof: int = 1) -> tuple[float, float]:
    """Mean and standard deviation of per-fold accuracy.

    Parameters
    ----------
    cms : (K, C, C) int array-like
        One confusion matrix per fold.
    ddof : int, default 1
        Delta degrees of freedom of the std; 1 treats folds as a sample of
        the generalisation accuracy. The std is 0.0 when ``K <= ddof``.

    Returns
    -------
    mean, std : float
    """
    arr = np.asarray(cms)
    if arr.ndim != 3 or arr.shape[0] == 0:
        raise ValueError(f"cms must have shape (K, C, C) with K >= 1, got {arr.shape}")
    totals = arr.sum(axis=(1, 2))
    if np.any(totals == 0):
        raise ValueError("a fold's confusion matrix is empty")
    acc = np.trace(arr, axis1=1, axis2=2) / totals
    std = float(acc.std(ddof=ddof)) if acc.size > ddof else 0.0
    return float(acc.mean()), std


# --- rendering ---------------------------------------------------------------


def _names(class_names: Sequence[str] | None, n: int) -> list[str]:
    if class_names is None:
        return [str(k) for k in range(n)]
    names = [str(s) for s in class_names]
    if len(names) != n:
        raise ValueError(f"{len(names)} class names for {n} classes")
    return names


def _render(header: list[str], rows: list[list[str]], fmt: Fmt) -> str:
    """Rows of cells as aligned text (first column left, others right) or markdown."""
    if fmt == "markdown":
        lines = ["| " + " | ".join(header) + " |"]
        lines.append("|" + "|".join([":---"] + ["---:"] * (len(header) - 1)) + "|")
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines)
    if fmt != "text":
        raise ValueError(f"fmt must be 'text' or 'markdown', got {fmt!r}")
    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = [c.rjust(w) for c, w in zip(cells[1:], widths[1:])]
        return "  ".join([first] + rest).rstrip()

    rule = "-" * (sum(widths) + 2 * (len(widths) - 1))
    return "\n".join([line(header), rule] + [line(r) for r in rows])


def format_table(
    metrics: ClassMetrics,
    class_names: Sequence[str] | None = None,
    fmt: Fmt = "text",
    digits: int = 3,
) -> str:
    """Render the per-class table: one row per class plus a macro-average row.

    Parameters
    ----------
    metrics : ClassMetrics
    class_names : sequence of str, optional
        Length C; default ``"0" .. "C-1"``.
    fmt : {"text", "markdown"}
        Aligned plain text, or a GitHub markdown table.
    digits : int, default 3
        Decimals of the ratios.

    Returns
    -------
    str
        Columns: class, precision, recall, specificity, F1, support. The macro
        row's support is the total number of samples.
    """
    names = _names(class_names, metrics.n_classes)
    header = ["class", "precision", "recall", "specificity", "F1", "support"]
    cols = [metrics.precision, metrics.recall, metrics.specificity, metrics.f1]
    rows = [
        [names[k]] + [f"{c[k]:.{digits}f}" for c in cols] + [str(int(metrics.support[k]))]
        for k in range(metrics.n_classes)
    ]
    m = metrics.macro
    rows.append(
        ["macro avg"]
        + [f"{m[key]:.{digits}f}" for key in ("precision", "recall", "specificity", "f1")]
        + [str(int(metrics.support.sum()))]
    )
    return _render(header, rows, fmt)


def format_confusion(
    cm: ArrayLike,
    class_names: Sequence[str] | None = None,
    fmt: Fmt = "text",
    normalize: bool = False,
    digits: int = 2,
) -> str:
    """Render a confusion matrix, rows = true class, columns = predicted.

    Parameters
    ----------
    cm : (C, C) int array-like
    class_names : sequence of str, optional
        Length C; default ``"0" .. "C-1"``.
    fmt : {"text", "markdown"}
    normalize : bool, default False
        Show each row as fractions of its true class (rows of zeros stay 0).
    digits : int, default 2
        Decimals when ``normalize`` is true.

    Returns
    -------
    str
        The top-left cell reads ``true \\ pred``.
    """
    mat = _check_cm(cm)
    names = _names(class_names, mat.shape[0])
    if normalize:
        frac = _safe_div(mat, mat.sum(axis=1, keepdims=True))
        cells = [[f"{v:.{digits}f}" for v in row] for row in frac]
    else:
        cells = [[str(int(v)) for v in row] for row in mat]
    header = ["true \\ pred"] + names
    rows = [[names[i]] + cells[i] for i in range(len(names))]
    return _render(header, rows, fmt)
