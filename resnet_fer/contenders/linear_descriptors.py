"""``linear-descriptors``: a softmax classifier with no hidden layer on HOG or LPQ + PHOG + HOG.

The classical baseline of face-expression work (docs/resnet.rst: HOG and a logistic
regression beat the ResNet on the grouped split). The descriptors (square-rooted
histograms, :func:`bpnet.data.blocks.stack_blocks`; HOG as OpenCV computes it,
:func:`bpnet.data.hog.hog`) are standardised with the training rows' mean and spread, and
:class:`bpnet.linear.SoftmaxRegression` is fitted with the descriptor set and L2 strength
that score best on inner folds of the training rows, then refitted on all of them.
:func:`fit_final` does the same on every row: the model ``fer-compare --save-models`` saves
(a :class:`bpnet.pipeline_models.LinearPipeline`).
"""
from __future__ import annotations

import time

import numpy as np

from bpnet.linear import SoftmaxRegression, Standardizer
from bpnet.pipeline import DESCRIPTOR_DEFAULTS
from bpnet.pipeline_models import LinearPipeline

from ._descriptor_cache import descriptors, stack_blocks
from ._folds import Stopwatch, every_row, fold_fit, inner_kind, inner_splits
from .base import Contender, Fold, FoldFit, register

__all__ = ["CONTENDER", "Standardizer", "choose_setting", "fit_final", "fit_linear"]


def _fit_scaled(X: np.ndarray, y: np.ndarray, fit_rows: np.ndarray, alpha: float,
                recipe: dict, n_classes: int) -> tuple[Standardizer, SoftmaxRegression]:
    scaler = Standardizer().fit(X[fit_rows])
    if not recipe.get("standardize", True):  # keep the descriptors' own scale
        scaler.mean_, scaler.scale_ = np.zeros(X.shape[1]), np.ones(X.shape[1])
    model = SoftmaxRegression(alpha=alpha, class_weight=recipe.get("class_weight", "balanced"),
                              max_iter=int(recipe.get("max_iter", 300)))
    return scaler, model.fit(scaler.transform(X[fit_rows]), y[fit_rows], n_classes)


def _block_sets(recipe: dict) -> list[tuple[str, ...]]:
    """The descriptor sets the inner folds choose from (``block_sets``, or one ``blocks``)."""
    if "block_sets" in recipe:
        return [tuple(b) for b in recipe["block_sets"]]
    return [tuple(recipe.get("blocks", ("lpq", "phog", "hog")))]


def choose_setting(desc: dict, y: np.ndarray, inner: list, recipe: dict,
                   n_classes: int) -> tuple[tuple[str, ...], float, dict]:
    """The descriptor set and L2 strength with the best mean accuracy on the ``inner``
    (fit, validation) splits, and every setting's score ``{(blocks, alpha): accuracy}``."""
    sqrt = bool(recipe.get("sqrt", True))
    alphas = [float(a) for a in recipe.get("alphas", [0.01, 0.1, 1.0])]
    scores = {}
    for blocks in _block_sets(recipe):
        X = stack_blocks(desc, blocks, sqrt=sqrt)
        for alpha in alphas:
            acc = []
            for a, b in inner:
                scaler, model = _fit_scaled(X, y, a, alpha, recipe, n_classes)
                acc.append(np.mean(model.predict(scaler.transform(X[b])) == y[b]))
            scores[blocks, alpha] = float(np.mean(acc))
    # ties: the first set and the first (weakest) penalty listed
    (chosen, alpha), _ = max(scores.items(), key=lambda item: item[1])
    return chosen, alpha, scores


def fit_linear(fold: Fold, recipe: dict) -> FoldFit:
    """Fit ``linear-descriptors`` on one fold (descriptor set and L2 strength chosen on inner
    folds of the training rows)."""
    if fold.images is None:
        raise ValueError("linear-descriptors reads the images (fold.images)")
    desc = descriptors(fold.images, progress=fold.progress)
    sqrt = bool(recipe.get("sqrt", True))
    y, C = np.asarray(fold.y), len(fold.class_names)
    tr, te = np.asarray(fold.train), np.asarray(fold.test)
    watch = Stopwatch()
    with watch.timing():
        kind = inner_kind(fold, recipe.get("inner", "auto"))
        inner = inner_splits(fold, int(recipe.get("inner_folds", 5)), kind)
        chosen, alpha, scores = choose_setting(desc, y, inner, recipe, C)
        X = stack_blocks(desc, chosen, sqrt=sqrt)
        scaler, model = _fit_scaled(X, y, tr, alpha, recipe, C)
    t0 = time.perf_counter()
    proba = model.predict_proba(scaler.transform(X[te]))
    ms = (time.perf_counter() - t0) * 1000.0 / max(len(te), 1)
    result = fold_fit(fold, proba, model.predict_proba(scaler.transform(X[tr])), model.n_params,
                      watch.seconds,
                      info={"inner": kind, "blocks": "+".join(chosen), "alpha": alpha,
                            "n_features": int(X.shape[1]),
                            "inner_accuracy": {f"{'+'.join(b)} {a}": s
                                               for (b, a), s in scores.items()}})
    result.predict_ms_per_image = ms  # the descriptors are computed once per image set
    return result


def fit_final(images: np.ndarray, y, groups, class_names, recipe: dict, *, kind: str,
              seed: int, crop: dict, info: dict | None = None,
              progress: bool = False) -> LinearPipeline:
    """The recipe refitted on every row: the descriptor set and L2 strength chosen on
    ``kind`` inner folds of all rows (as :func:`fit_linear` chooses them on a fold's
    training rows), then the standardiser and the regression fitted on all rows.

    ``images`` : (n, S, S[, 3]) uint8, as the cross-validation described them; ``crop`` :
    how they were cut from the photos. Returns the model, its ``info`` holding the choice.
    """
    images, y = np.asarray(images), np.asarray(y, np.int64)
    everything = every_row(y, groups, class_names, seed)
    desc = descriptors(images, progress=progress)
    inner = inner_splits(everything, int(recipe.get("inner_folds", 5)), kind)
    chosen, alpha, scores = choose_setting(desc, y, inner, recipe, len(class_names))
    sqrt = bool(recipe.get("sqrt", True))
    scaler, model = _fit_scaled(stack_blocks(desc, chosen, sqrt=sqrt), y, everything.train,
                                alpha, recipe, len(class_names))
    chose = {"inner": kind, "blocks": "+".join(chosen), "alpha": alpha,
             "inner_accuracy": {f"{'+'.join(b)} {a}": s for (b, a), s in scores.items()}}
    return LinearPipeline(tuple(class_names), int(images.shape[1]), dict(crop),
                          dict(DESCRIPTOR_DEFAULTS), chosen, sqrt, scaler, model,
                          {**(info or {}), "chosen": chose})


#: HOG alone (OpenCV's, as the reference model of docs/resnet.rst) or all three descriptors,
#: and four L2 strengths: 2 x 4 settings on 5 inner folds, about a minute per outer fold.
_RECIPE = {"block_sets": [["hog"], ["lpq", "phog", "hog"]], "alphas": [0.03, 0.1, 0.3, 1.0]}

CONTENDER = register(Contender(
    "linear-descriptors",
    "softmax regression (no hidden layer) on HOG or LPQ + PHOG + HOG, the set and the L2 "
    "strength chosen on inner folds",
    "descriptors", fit_linear,
    cpu_recipe=dict(_RECIPE), gpu_recipe=dict(_RECIPE),
    quick_recipe={"alphas": [0.1], "inner_folds": 3, "max_iter": 50}))
