"""``bp-tuned``: the nested search of ``bpnet tune``, run inside each outer training fold.

The paper's first item of future work, "a larger BP network", answered by selection instead
of a guess: the grid of :data:`bpnet.model_selection.RECOMMENDED` (a wide noisy tanh layer
for stratified folds; small, slow, class-balanced networks for movie-grouped folds) is
searched by :func:`bpnet.model_selection.grid_search_cv` on inner folds of the training rows
only (grouped when the outer fold is grouped), and the chosen setting's inner models,
averaged, predict the test rows.
"""
from __future__ import annotations

import numpy as np

from bpnet.model_selection import RECOMMENDED, grid_search_cv

from ._folds import Stopwatch, fold_fit, inner_kind, inner_splits
from .base import Contender, Fold, FoldFit, register
from .bp import predict_ms

__all__ = ["CONTENDER", "fit_nested", "nested_search"]


def nested_search(X: np.ndarray, fold: Fold, grid: dict, settings: dict, n_init: int,
                  inner: list) -> tuple[float, dict, np.ndarray, np.ndarray]:
    """One outer fold's nested search on ``X : (n, d)``: the best mean inner accuracy, its
    setting, and the chosen models' averaged outputs on the test rows and the training rows.

    The search scores ``test + train`` rows as its "outer test" rows: they only receive the
    inner models' outputs (every inner model trains on its inner fit rows, normalised by
    them), which gives the training accuracy without another fit.
    """
    te, tr = np.asarray(fold.test), np.asarray(fold.train)
    scored = np.concatenate([te, tr])
    res = grid_search_cv(X, fold.y, grid, [(tr, scored)], inner_splits=[inner], n_init=n_init,
                         refit=False, n_classes=len(fold.class_names),
                         random_state=int(fold.seed), **settings)
    best = int(res.chosen[0])
    out = res.outer_outputs[0][:, best].mean(axis=0)  # (len(scored), C)
    chosen = {k: (v.item() if hasattr(v, "item") else v) for k, v in res.params[best].items()}
    return float(res.scores[0, best]), chosen, out[:len(te)], out[len(te):]


def n_bp_params(n_inputs: int, n_hidden: int, n_classes: int) -> int:
    """Weights and biases of a one-hidden-layer network."""
    return n_inputs * n_hidden + n_hidden + n_hidden * n_classes + n_classes


def fit_nested(fold: Fold, recipe: dict) -> FoldFit:
    """Fit ``bp-tuned`` on one fold of the feature sheet (``fold.X``)."""
    if fold.X is None:
        raise ValueError("bp-tuned reads the features input (fold.X)")
    watch = Stopwatch()
    with watch.timing():
        kind = inner_kind(fold, recipe.get("inner", "auto"))
        search = {**RECOMMENDED[kind], **recipe.get(kind, {})}
        inner = inner_splits(fold, int(recipe.get("inner_folds", 5)), kind)
        settings = {**search["settings"], **recipe.get("settings", {})}
        score, chosen, proba, train_proba = nested_search(
            np.asarray(fold.X, np.float64), fold, search["grid"], settings,
            int(recipe.get("n_init", search["n_init"])), inner)
    hidden = int(chosen.get("n_hidden", settings.get("n_hidden", 16)))
    n_models = len(inner) * int(recipe.get("n_init", search["n_init"]))
    fit = fold_fit(fold, proba, train_proba,
                   n_models * n_bp_params(fold.X.shape[1], hidden, len(fold.class_names)),
                   watch.seconds, info={"inner": kind, "chosen": chosen,
                                        "inner_accuracy": score, "ensemble_members": n_models})
    X = np.asarray(fold.X, np.float64)
    fit.predict_ms_per_image = predict_ms({**settings, **chosen}, X[fold.train], X[fold.test],
                                          hidden, len(fold.class_names), n_models)
    return fit


CONTENDER = register(Contender(
    "bp-tuned",
    "BP network chosen by bpnet tune's nested grid on inner folds of each training fold "
    "(the paper's 'larger BP network')",
    "features", fit_nested,
    # bpnet trains on the CPU in NumPy: the same recipe on either device
    cpu_recipe={"inner_folds": 5}, gpu_recipe={"inner_folds": 5},
    quick_recipe={"inner_folds": 3, "n_init": 1,
                  "stratified": {"grid": {"input_noise": [0.6], "epochs": [20, 40]}},
                  "group": {"grid": {"n_hidden": [8], "epochs": [20, 40]}}}))
