"""``bp-paper``: the paper's BP network on the 10 features per image, with its pruning.

All folds of a repeat train as one stack (:func:`bpnet.cross_validate`: one network per
fold, one matrix product for all of them), so the contender defines ``batch_fit``; each
fold's normaliser and class weights are still fitted on that fold's training rows alone.
"""
from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from .base import Contender, Fold, FoldFit, register

__all__ = ["BP_SETTINGS", "fit_folds", "predict_ms"]

#: the paper's network, 10-32-7 with sigmoid units, MSE, Adam, 1000 full-batch epochs
BP_SETTINGS = {"n_hidden": 32, "hidden": "sigmoid", "output": "sigmoid", "loss": "mse",
               "optimizer": "adam", "lr": 0.01, "epochs": 1000, "dtype": "float32"}


def predict_ms(settings: dict, X_fit: np.ndarray, X_test: np.ndarray, n_hidden: int,
               n_classes: int, n_models: int | None = None) -> float:
    """Milliseconds per test row of inference: normalise ``X_test`` (with a normaliser fitted
    on ``X_fit``) and a forward pass through ``n_models`` networks of this shape (one when
    None; an ensemble's members as one stack).

    The fitted networks are not returned by :func:`bpnet.cross_validate` or the nested
    search; a forward pass costs the same whatever the weights, so fresh ones are timed.
    """
    from bpnet.preprocessing import Normalizer
    from bpnet.settings import Settings

    if len(X_test) == 0:
        return 0.0
    norm = Normalizer().fit(X_fit)
    spec = Settings.from_dict({**settings, "n_hidden": max(1, n_hidden)})
    net = spec.build_network(X_fit.shape[1], n_classes, np.random.default_rng(0),
                             n_models=n_models)
    net.forward(norm.transform(X_test))  # warm-up
    t0 = time.perf_counter()
    for _ in range(5):
        net.forward(norm.transform(X_test))
    return (time.perf_counter() - t0) / 5 / len(X_test) * 1e3


def fit_folds(folds: list[Fold], recipe: dict) -> list[FoldFit]:
    """Train the folds of one repeat as one stack, prune, and score each on its test rows."""
    import bpnet
    from bpnet.pruning import DistinctivenessPruner

    first = folds[0]
    settings = {k: v for k, v in recipe.items() if k != "epochs_per_round"}
    splits = [(f.train, f.test) for f in folds]
    t0 = time.perf_counter()
    res = bpnet.cross_validate(first.X, first.y, splits, prune=DistinctivenessPruner(),
                               epochs_per_round=recipe.get("epochs_per_round", 50),
                               class_names=first.class_names, random_state=first.seed,
                               progress=first.progress, **settings)
    seconds = (time.perf_counter() - t0) / len(folds)
    n_in, n_classes = first.X.shape[1], len(first.class_names)
    hidden = res.extra["n_hidden"]
    before = res.extra["before_pruning"]
    fits = []
    for j, (fold, f) in enumerate(zip(folds, res.folds)):
        result = replace(f, seconds=seconds)  # its scores are probabilities already
        h = int(hidden[j])
        info = {"n_hidden_before": int(before["n_hidden"][j]), "n_hidden": h,
                "test_accuracy_before_pruning": float(before["test_accuracy"][j])}
        if j == 0:  # the stack's history, once per repeat (Fig. 4)
            info["pruning"] = res.extra["pruning"]
        fits.append(FoldFit(result, n_in * h + h + h * n_classes + n_classes, seconds,
                            predict_ms(settings, fold.X[fold.train], fold.X[fold.test], h,
                                       n_classes), info))
    return fits


def fit_fold(fold: Fold, recipe: dict) -> FoldFit:
    """One fold on its own (a stack of one)."""
    return fit_folds([fold], recipe)[0]


register(Contender(
    "bp-paper", "the paper's BP network (10-32-7, sigmoid, MSE, Adam, 1000 epochs) on the 10 "
    "features, with distinctiveness pruning", "features", fit_fold,
    cpu_recipe={**BP_SETTINGS, "epochs_per_round": 50},
    gpu_recipe={**BP_SETTINGS, "epochs_per_round": 50},
    quick_recipe={"epochs": 100}, batch_fit=fit_folds))
