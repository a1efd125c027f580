"""``linear-descriptors``: a softmax classifier with no hidden layer on LPQ + PHOG + HOG.

The classical baseline of face-expression work (docs/resnet.rst: HOG and a logistic
regression beat the ResNet on the grouped split). The descriptors (square-rooted
histograms, :func:`._descriptor_cache.stack_blocks`) are standardised with the training
rows' mean and spread, and :class:`bpnet.linear.SoftmaxRegression` is fitted with the L2
strength that scores best on inner folds of the training rows, then refitted on all of them.
"""
from __future__ import annotations

import time

import numpy as np

from bpnet.linear import SoftmaxRegression

from ._descriptor_cache import descriptors, stack_blocks
from ._folds import Stopwatch, fold_fit, inner_kind, inner_splits
from .base import Contender, Fold, FoldFit, register

__all__ = ["CONTENDER", "Standardizer", "fit_linear"]


class Standardizer:
    """Column mean and standard deviation of the rows it is fitted on (constant columns: 1)."""

    def fit(self, X: np.ndarray) -> "Standardizer":
        self.mean_ = X.mean(axis=0)
        std = X.std(axis=0)
        self.scale_ = np.where(std > 1e-12, std, 1.0)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        return (X - self.mean_) / self.scale_


def _fit_scaled(X: np.ndarray, y: np.ndarray, fit_rows: np.ndarray, alpha: float,
                recipe: dict, n_classes: int) -> tuple[Standardizer, SoftmaxRegression]:
    scaler = Standardizer().fit(X[fit_rows])
    if not recipe.get("standardize", True):  # keep the descriptors' own scale
        scaler.mean_, scaler.scale_ = np.zeros(X.shape[1]), np.ones(X.shape[1])
    model = SoftmaxRegression(alpha=alpha, class_weight=recipe.get("class_weight", "balanced"),
                              max_iter=int(recipe.get("max_iter", 300)))
    return scaler, model.fit(scaler.transform(X[fit_rows]), y[fit_rows], n_classes)


def fit_linear(fold: Fold, recipe: dict) -> FoldFit:
    """Fit ``linear-descriptors`` on one fold (L2 strength chosen on inner folds)."""
    if fold.images is None:
        raise ValueError("linear-descriptors reads the images (fold.images)")
    X = stack_blocks(descriptors(fold.images, progress=fold.progress),
                     tuple(recipe.get("blocks", ("lpq", "phog", "hog"))),
                     sqrt=bool(recipe.get("sqrt", True)))
    y, C = np.asarray(fold.y), len(fold.class_names)
    tr, te = np.asarray(fold.train), np.asarray(fold.test)
    watch = Stopwatch()
    with watch.timing():
        kind = inner_kind(fold, recipe.get("inner", "auto"))
        inner = inner_splits(fold, int(recipe.get("inner_folds", 5)), kind)
        alphas = [float(a) for a in recipe.get("alphas", [0.01, 0.1, 1.0])]
        scores = []
        for alpha in alphas:
            acc = []
            for a, b in inner:
                scaler, model = _fit_scaled(X, y, a, alpha, recipe, C)
                acc.append(np.mean(model.predict(scaler.transform(X[b])) == y[b]))
            scores.append(float(np.mean(acc)))
        alpha = alphas[int(np.argmax(scores))]  # ties: the first (weakest) penalty listed
        scaler, model = _fit_scaled(X, y, tr, alpha, recipe, C)
    t0 = time.perf_counter()
    proba = model.predict_proba(scaler.transform(X[te]))
    ms = (time.perf_counter() - t0) * 1000.0 / max(len(te), 1)
    result = fold_fit(fold, proba, model.predict_proba(scaler.transform(X[tr])), model.n_params,
                      watch.seconds,
                      info={"inner": kind, "alpha": alpha, "n_features": int(X.shape[1]),
                            "inner_accuracy": dict(zip(map(str, alphas), scores))})
    result.predict_ms_per_image = ms  # the descriptors are computed once per image set
    return result


CONTENDER = register(Contender(
    "linear-descriptors",
    "softmax regression (no hidden layer, L2 chosen on inner folds) on LPQ + PHOG + HOG",
    "descriptors", fit_linear,
    cpu_recipe={"blocks": ["lpq", "phog", "hog"], "alphas": [0.01, 0.1, 1.0]},
    gpu_recipe={"blocks": ["lpq", "phog", "hog"], "alphas": [0.01, 0.1, 1.0]},
    quick_recipe={"alphas": [0.1], "inner_folds": 3, "max_iter": 50}))
