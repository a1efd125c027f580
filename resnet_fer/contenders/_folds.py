"""What the NumPy contenders share: timing, inner splits of a fold, a FoldFit from probabilities.

Kept free of torch so that the descriptor and BP contenders run without loading it.
"""
from __future__ import annotations

import time
import warnings
from contextlib import contextmanager
from typing import Callable, Iterator

import numpy as np

from bpnet.results import FoldResult
from bpnet.splits import make_splits

from .base import Fold, FoldFit

__all__ = ["Stopwatch", "every_row", "fold_fit", "inner_kind", "inner_splits"]


class Stopwatch:
    """Seconds spent inside ``with watch.timing():`` blocks, summed."""

    def __init__(self) -> None:
        self.seconds = 0.0

    @contextmanager
    def timing(self) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.seconds += time.perf_counter() - t0


def every_row(y, groups, class_names, seed: int, X: np.ndarray | None = None) -> Fold:
    """A "fold" that trains on every row and tests on none: what a final model (refitted
    after cross-validation, ``fer-compare --save-models``) draws its inner folds from."""
    y = np.asarray(y, np.int64)
    return Fold(np.arange(len(y)), np.zeros(0, np.int64), y, np.asarray(groups),
                tuple(class_names), X=X, seed=int(seed))


def inner_kind(fold: Fold, choice: str = "auto") -> str:
    """``"group"`` or ``"stratified"`` inner folds for ``fold``.

    ``"auto"``: grouped when the outer split kept groups whole (no group of the test rows is
    among the training rows), so the inner folds mimic the outer protocol; a grouped outer
    fold scored by stratified inner folds would choose models that recognise the movie.
    """
    if choice != "auto":
        return choice
    shared = np.intersect1d(fold.groups[fold.train], fold.groups[fold.test])
    return "group" if shared.size == 0 else "stratified"


def inner_splits(fold: Fold, k: int, kind: str = "auto",
                 seed: int | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """``k`` inner (fit, validation) splits of the fold's training rows only.

    Returns indices of the whole data (rows of ``fold.train``), never a test row. Grouped
    inner folds fall back to fewer folds when the training rows hold fewer than ``k`` groups.
    """
    tr = np.asarray(fold.train)
    kind = inner_kind(fold, kind)
    groups = fold.groups[tr] if kind == "group" else None
    if groups is not None:
        k = min(k, len(np.unique(groups)))
    rng = np.random.default_rng([fold.seed if seed is None else seed, fold.index, 7])
    with warnings.catch_warnings():
        # a class smaller than k: the outer split's note already says so, once; the same
        # note from every inner split of every fold would only repeat it (and under
        # ``-W error`` it stopped the model)
        warnings.filterwarnings("ignore", "the least populated class", UserWarning)
        splits = make_splits(kind, fold.y[tr], groups, k, rng)
    return [(tr[a], tr[b]) for a, b in splits]


def fold_fit(fold: Fold, proba: np.ndarray, train_proba: np.ndarray, n_params: int,
             fit_seconds: float, predict: Callable[[], np.ndarray] | None = None,
             info: dict | None = None, curves: dict | None = None) -> FoldFit:
    """A :class:`FoldFit` from the test rows' class probabilities ``(n_test, C)``.

    ``train_proba`` : the final model's probabilities on the training rows (for the train
    accuracy). ``predict`` : a callable that recomputes ``proba`` from the stored input, timed
    for ``predict_ms_per_image`` (when None, that time is NaN).
    """
    te = np.asarray(fold.test)
    proba = np.asarray(proba, np.float64)
    proba = proba / proba.sum(axis=1, keepdims=True)
    ms = float("nan")
    if predict is not None and len(te):
        t0 = time.perf_counter()
        predict()
        ms = (time.perf_counter() - t0) * 1000.0 / len(te)
    train_acc = float(np.mean(np.argmax(train_proba, axis=1) == fold.y[fold.train]))
    result = FoldResult(te, fold.y[te], proba.argmax(axis=1), proba, len(fold.train), train_acc,
                        dict(curves or {}), fit_seconds)
    return FoldFit(result, int(n_params), float(fit_seconds), ms, dict(info or {}))
