"""``bp-descriptors``: the BP network on principal components of the full PHOG + LPQ descriptors.

The paper keeps 5 + 5 principal components of LPQ (256 bins) and PHOG (680 bins). Here the
number of components per descriptor and the hidden size are chosen on inner folds of each
training fold. The PCA (:class:`bpnet.data.features.DescriptorPCA`) is fitted on the outer
training rows only; the inner folds then share those axes (their validation rows took part
in the PCA, as the rows of a training set do; no test row does). The descriptors themselves
are computed once per image set (:mod:`._descriptor_cache`).
"""
from __future__ import annotations

import numpy as np

from bpnet.data.features import DescriptorPCA

from ._descriptor_cache import descriptors
from ._folds import Stopwatch, fold_fit, inner_kind, inner_splits
from .base import Contender, Fold, FoldFit, register
from .bp import predict_ms
from .bp_tuned import n_bp_params, nested_search

__all__ = ["CONTENDER", "fit_descriptors"]

_SETTINGS = {"hidden": "tanh", "output": "softmax", "loss": "cross_entropy", "lr": 0.001,
             "weight_decay": 0.001, "class_weight": "balanced", "input_noise": 0.3}


def fit_descriptors(fold: Fold, recipe: dict) -> FoldFit:
    """Fit ``bp-descriptors`` on one fold (``fold.images`` described, PCA per fold)."""
    if fold.images is None:
        raise ValueError("bp-descriptors reads the images (fold.images)")
    desc = descriptors(fold.images, progress=fold.progress)
    tr = np.asarray(fold.train)
    watch = Stopwatch()
    with watch.timing():
        kind = inner_kind(fold, recipe.get("inner", "auto"))
        inner = inner_splits(fold, int(recipe.get("inner_folds", 5)), kind)
        settings = {**_SETTINGS, **recipe.get("settings", {})}
        grid = {"n_hidden": list(recipe.get("n_hidden", [8, 32])),
                "epochs": list(recipe.get("epochs", [50, 100, 200, 400]))}
        best = None
        for k in recipe.get("n_components", [5, 20, 50]):
            k = int(min(k, len(tr) - 1))
            pca = DescriptorPCA(k).fit(desc["lpq"][tr], desc["phog"][tr])
            Z = pca.transform(desc["lpq"], desc["phog"])
            found = nested_search(Z, fold, grid, settings, int(recipe.get("n_init", 3)), inner)
            if best is None or found[0] > best[1][0]:  # ties keep fewer components
                best = (k, found, Z)
    assert best is not None, "n_components is empty"
    k, (score, chosen, proba, train_proba), Z = best
    n_models = len(inner) * int(recipe.get("n_init", 3))
    hidden = int(chosen["n_hidden"])
    fit = fold_fit(fold, proba, train_proba,
                   n_models * n_bp_params(2 * k, hidden, len(fold.class_names)), watch.seconds,
                   info={"inner": kind, "n_components": k, "chosen": chosen,
                         "inner_accuracy": score, "ensemble_members": n_models})
    fit.predict_ms_per_image = predict_ms({**settings, **chosen}, Z[tr], Z[fold.test], hidden,
                                          len(fold.class_names), n_models)
    return fit


CONTENDER = register(Contender(
    "bp-descriptors",
    "BP network on per-fold PCA of the full LPQ + PHOG descriptors; components and hidden "
    "size chosen on inner folds",
    "descriptors", fit_descriptors,
    cpu_recipe={"n_components": [5, 20, 50], "n_hidden": [8, 32]},
    gpu_recipe={"n_components": [5, 20, 50], "n_hidden": [8, 32]},
    # slow on a CPU (docs/compare.rst, "Contenders measured on SFEW"): run there when named,
    # so that fer-compare with no arguments stays within minutes
    default_on=("cuda",),
    quick_recipe={"n_components": [5], "n_hidden": [8], "epochs": [20], "n_init": 1,
                  "inner_folds": 3}))
