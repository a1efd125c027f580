"""``bp-descriptors``: the BP network on principal components of the full PHOG + LPQ descriptors.

The paper keeps 5 + 5 principal components of LPQ (256 bins) and PHOG (680 bins). Here the
number of components per descriptor and the hidden size are chosen on inner folds of each
training fold. The PCA (:class:`bpnet.data.features.DescriptorPCA`) is fitted on the outer
training rows only; the inner folds then share those axes (their validation rows took part
in the PCA, as the rows of a training set do; no test row does). The descriptors themselves
are computed once per image set (:mod:`._descriptor_cache`). :func:`fit_final` makes the
same choice on inner folds of every row: the model ``fer-compare --save-models`` saves (a
:class:`bpnet.pipeline_models.EnsemblePipeline`).
"""
from __future__ import annotations

import numpy as np

from bpnet.data.features import DescriptorPCA
from bpnet.pipeline import DESCRIPTOR_DEFAULTS
from bpnet.pipeline_models import EnsemblePipeline

from ._descriptor_cache import descriptors
from ._folds import Stopwatch, every_row, fold_fit, inner_kind, inner_splits
from .base import Contender, Fold, FoldFit, register
from .bp import predict_ms
from .bp_tuned import final_members, final_search, n_bp_params, nested_search

__all__ = ["CONTENDER", "fit_descriptors", "fit_final"]

_SETTINGS = {"hidden": "tanh", "output": "softmax", "loss": "cross_entropy", "lr": 0.001,
             "weight_decay": 0.001, "class_weight": "balanced", "input_noise": 0.3}


def _search_space(recipe: dict) -> tuple[dict, dict, int]:
    """The recipe's fixed settings, its grid and its initialisations per inner fold."""
    settings = {**_SETTINGS, **recipe.get("settings", {})}
    grid = {"n_hidden": list(recipe.get("n_hidden", [8, 32])),
            "epochs": list(recipe.get("epochs", [50, 100, 200, 400]))}
    return settings, grid, int(recipe.get("n_init", 3))


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
        settings, grid, n_init = _search_space(recipe)
        best = None
        for k in recipe.get("n_components", [5, 20, 50]):
            k = int(min(k, len(tr) - 1))
            pca = DescriptorPCA(k).fit(desc["lpq"][tr], desc["phog"][tr])
            Z = pca.transform(desc["lpq"], desc["phog"])
            found = nested_search(Z, fold, grid, settings, n_init, inner)
            if best is None or found[0] > best[1][0]:  # ties keep fewer components
                best = (k, found, Z)
    assert best is not None, "n_components is empty"
    k, (score, chosen, proba, train_proba), Z = best
    n_models = len(inner) * n_init
    hidden = int(chosen["n_hidden"])
    fit = fold_fit(fold, proba, train_proba,
                   n_models * n_bp_params(2 * k, hidden, len(fold.class_names)), watch.seconds,
                   info={"inner": kind, "n_components": k, "chosen": chosen,
                         "inner_accuracy": score, "ensemble_members": n_models})
    fit.predict_ms_per_image = predict_ms({**settings, **chosen}, Z[tr], Z[fold.test], hidden,
                                          len(fold.class_names), n_models)
    return fit


def fit_final(images, y, groups, class_names, recipe: dict, *, kind: str, seed: int,
              crop: dict, info: dict | None = None,
              progress: bool = False) -> EnsemblePipeline:
    """The recipe refitted on every row: the number of components and the network chosen
    on ``kind`` inner folds of all rows (as :func:`fit_descriptors` chooses them on a fold's
    training rows, the PCA fitted on all rows), and the chosen setting's inner models
    averaged (:func:`~resnet_fer.contenders.bp_tuned.final_members`).

    ``images`` : (n, S, S[, 3]) uint8, as the cross-validation described them; ``crop`` :
    how they were cut from the photos (untoned: the ensemble does not tone new images).
    """
    images, y = np.asarray(images), np.asarray(y, np.int64)
    everything = every_row(y, groups, class_names, seed)
    desc = descriptors(images, progress=progress)
    inner = inner_splits(everything, int(recipe.get("inner_folds", 5)), kind)
    settings, grid, n_init = _search_space(recipe)
    best = None
    for k in recipe.get("n_components", [5, 20, 50]):
        k = int(min(k, len(y) - 1))
        pca = DescriptorPCA(k).fit(desc["lpq"], desc["phog"])
        Z = pca.transform(desc["lpq"], desc["phog"])
        res = final_search(Z, y, len(class_names), grid, settings, n_init, inner, seed)
        score = float(res.scores[0, int(res.chosen[0])])
        if best is None or score > best[0]:  # ties keep fewer components, as the folds do
            best = (score, k, pca, Z, res)
    assert best is not None, "n_components is empty"
    _, k, pca, Z, res = best
    members, chose = final_members(Z, y, len(class_names), res, n_init, inner, seed)
    return EnsemblePipeline(tuple(class_names), int(images.shape[1]), dict(crop),
                            dict(DESCRIPTOR_DEFAULTS), pca, members,
                            {**(info or {}), "chosen": {"inner": kind, "n_components": k,
                                                        **chose}})


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
