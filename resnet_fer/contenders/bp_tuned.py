"""``bp-tuned``: the nested search of ``bpnet tune``, run inside each outer training fold.

The paper's first item of future work, "a larger BP network", answered by selection instead
of a guess: the grid of :data:`bpnet.model_selection.RECOMMENDED` (a wide noisy tanh layer
for stratified folds; small, slow, class-balanced networks for movie-grouped folds) is
searched by :func:`bpnet.model_selection.grid_search_cv` on inner folds of the training rows
only (grouped when the outer fold is grouped), and the chosen setting's inner models,
averaged, predict the test rows. :func:`fit_final` runs the same search on inner folds of
every row and keeps the chosen setting's inner models: the ensemble ``fer-compare
--save-models`` saves (a :class:`bpnet.pipeline_models.EnsemblePipeline`).
"""
from __future__ import annotations

import numpy as np

from bpnet.grid_stack import Block, ModelSpec, fit_models, selection_settings
from bpnet.model_selection import RECOMMENDED, grid_search_cv
from bpnet.pipeline import fit_reducer
from bpnet.pipeline_models import EnsemblePipeline
from bpnet.preprocessing import Normalizer
from bpnet.settings import Settings

from ._folds import Stopwatch, every_row, fold_fit, inner_kind, inner_splits
from .base import Contender, Fold, FoldFit, register
from .bp import predict_ms

__all__ = ["CONTENDER", "final_members", "final_search", "fit_final", "fit_nested",
           "nested_search"]


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


def _plan(fold: Fold, recipe: dict, kind: str) -> tuple[dict, dict, int, list]:
    """The search of ``recipe`` on ``kind`` inner folds of ``fold.train``: its grid, fixed
    settings, initialisations per inner fold, and the inner splits."""
    search = {**RECOMMENDED[kind], **recipe.get(kind, {})}
    settings = {**search["settings"], **recipe.get("settings", {})}
    return (search["grid"], settings, int(recipe.get("n_init", search["n_init"])),
            inner_splits(fold, int(recipe.get("inner_folds", 5)), kind))


def fit_nested(fold: Fold, recipe: dict) -> FoldFit:
    """Fit ``bp-tuned`` on one fold of the feature sheet (``fold.X``)."""
    if fold.X is None:
        raise ValueError("bp-tuned reads the features input (fold.X)")
    watch = Stopwatch()
    with watch.timing():
        kind = inner_kind(fold, recipe.get("inner", "auto"))
        grid, settings, n_init, inner = _plan(fold, recipe, kind)
        score, chosen, proba, train_proba = nested_search(
            np.asarray(fold.X, np.float64), fold, grid, settings, n_init, inner)
    hidden = int(chosen.get("n_hidden", settings.get("n_hidden", 16)))
    n_models = len(inner) * n_init
    fit = fold_fit(fold, proba, train_proba,
                   n_models * n_bp_params(fold.X.shape[1], hidden, len(fold.class_names)),
                   watch.seconds, info={"inner": kind, "chosen": chosen,
                                        "inner_accuracy": score, "ensemble_members": n_models})
    X = np.asarray(fold.X, np.float64)
    fit.predict_ms_per_image = predict_ms({**settings, **chosen}, X[fold.train], X[fold.test],
                                          hidden, len(fold.class_names), n_models)
    return fit


def final_search(X: np.ndarray, y: np.ndarray, n_classes: int, grid: dict, settings: dict,
                 n_init: int, inner: list, seed: int):
    """The grid searched on the ``inner`` folds of every row of ``X``: the
    :class:`~bpnet.model_selection.GridSearchResult` a final model is chosen from."""
    tr = np.arange(len(y))  # its own "test" rows too: the search only computes their outputs
    return grid_search_cv(X, y, grid, [(tr, tr)], inner_splits=[inner], n_init=n_init,
                          refit=False, n_classes=n_classes, random_state=int(seed), **settings)


def final_members(X: np.ndarray, y: np.ndarray, n_classes: int, res, n_init: int,
                  inner: list, seed: int) -> tuple[list, dict]:
    """The chosen setting's inner models of :func:`final_search` ``res`` (each inner fold's
    fit rows, ``n_init`` initialisations, the epochs the search scored it at), each behind
    the normaliser of its rows, and what was chosen."""
    best = int(res.chosen[0])
    setting = selection_settings({**res.settings, **res.params[best]}, dtype="float32")
    # the search's inner models, one block each, seeded as grid_search_cv seeds them (the
    # predict rows are only there because a block needs some)
    blocks = [Block(np.sort(a), np.zeros(0, np.int64), np.sort(a), (int(seed), 0, i, r))
              for i, (a, _) in enumerate(inner) for r in range(n_init)]
    specs = [ModelSpec(setting, j, epochs=int(res.best_epoch[0, j, best]))
             for j in range(len(blocks))]
    fit = fit_models(X, y, specs, blocks, n_classes=n_classes, keep_stacks=True,
                     random_state=int(seed))
    members: list = [None] * len(specs)
    for stack in fit.stacks:
        for pos, m in enumerate(stack["models"]):
            h = int(specs[m].setting["n_hidden"])
            net = Settings(**setting).build_network(X.shape[1], n_classes, 0, n_hidden=h)
            for name, part in (("W1", np.s_[pos, :, :h]), ("b1", np.s_[pos, :h]),
                               ("W2", np.s_[pos, :h, :]), ("b2", np.s_[pos])):
                net.params[name] = stack["net"].params[name][part].copy()
            members[m] = (Normalizer().fit(X[blocks[m].train]), net)
    chosen = {k: (v.item() if hasattr(v, "item") else v) for k, v in res.params[best].items()}
    return members, {"chosen": chosen, "inner_accuracy": float(res.scores[0, best]),
                     "ensemble_members": len(members)}


def fit_final(images, y, groups, class_names, recipe: dict, *, kind: str, seed: int,
              size: int | None, crop: dict, info: dict | None = None,
              progress: bool = False) -> EnsemblePipeline:
    """The recipe refitted on every row: the 10 features (LPQ and PHOG, 5 principal
    components each, PCA on all images, as ``fer-compare`` computes them), the grid searched
    on ``kind`` inner folds of all rows, and the chosen setting's inner models (each inner
    fold's fit rows, ``n_init`` initialisations, the epochs the search scored it at) as
    the ensemble.

    ``images`` : arrays or image files, as the BP network's features were computed from.
    """
    y = np.asarray(y, np.int64)
    descriptor, reducer, X = fit_reducer(images, size, 5, None, progress)
    everything = every_row(y, groups, class_names, seed, X=X)
    grid, settings, n_init, inner = _plan(everything, recipe, kind)
    res = final_search(X, y, len(class_names), grid, settings, n_init, inner, seed)
    members, chose = final_members(X, y, len(class_names), res, n_init, inner, seed)
    return EnsemblePipeline(tuple(class_names), size, dict(crop), descriptor, reducer,
                            members, {**(info or {}), "chosen": {"inner": kind, **chose}})


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
