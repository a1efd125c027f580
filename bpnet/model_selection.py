"""Nested cross-validated grid search, every (setting x fold) model trained as one stack.

Choosing settings by their test-fold accuracy and reporting that accuracy is leakage: the
number is the best of many noisy draws. :func:`grid_search_cv` does it properly. For each
outer fold ``o`` (its training rows ``train_o``, its test rows ``test_o``):

1. ``train_o`` is split again into inner folds ``(fit_oi, val_oi)``;
2. every setting ``s`` of the grid is trained on every ``fit_oi`` (inputs normalised with
   ``fit_oi``'s statistics), and keeps its best epoch on ``val_oi`` (a grid over
   ``epochs`` instead scores each epoch count, from one run);
3. the setting with the best mean inner validation accuracy is chosen for fold ``o``;
4. fold ``o`` is scored on ``test_o`` with that setting only: by the mean output of its
   inner models (``outer="ensemble"``), or by one network retrained on all of ``train_o``
   for the median of its inner best epochs (``outer="refit"``, scikit-learn's way).

``test_o`` takes no part in steps 1-3: those rows are not even in the arrays the inner
models train on (the tests poison them and check that nothing chosen changes). All
``O x I x S`` inner models are trained together as stacks of
:class:`~bpnet.network.BPNetwork` (see :mod:`bpnet.grid_stack`), so the whole nested search costs
about as much as training its models, without a Python loop over them.

The outputs of every inner model on its outer test rows are computed anyway, so the
result also shows what each *fixed* setting would score on the outer test folds
(``table()["test_accuracy_fixed"]``). Those numbers are for understanding the grid; picking
the best of them would be leakage again.
"""
from __future__ import annotations

import itertools
import time
from typing import Callable

import numpy as np

from .grid_results import (
    GridSearchResult,
    OuterScores,
    plot_inner_accuracy,
    score_outer_folds,
    write_table_csv,
)
from .grid_stack import (
    SELECTION_PARAMS,
    Block,
    ModelSpec,
    check_setting,
    fit_models,
    selection_settings,
)
from .parallel import check_n_jobs
from .splits import make_splits

__all__ = ["RECOMMENDED", "GridSearchResult", "OuterScores", "expand_grid", "grid_search_cv",
           "plot_inner_accuracy", "write_table_csv"]

OUTER = ("ensemble", "refit")


def expand_grid(param_grid) -> list[dict]:
    """All settings of a grid, in order (the last name varies fastest).

    Parameters
    ----------
    param_grid : dict or list of dict
        Name -> list of values (scikit-learn's ``ParameterGrid``); a list of such dicts
        is the union of their grids. Names are those of
        :class:`bpnet.settings.Settings`.

    Raises
    ------
    ValueError
        An unknown name, a value that is not a non-empty list, or an empty grid.
    """
    grids = [param_grid] if isinstance(param_grid, dict) else list(param_grid)
    if not grids:
        raise ValueError("the grid is empty")
    settings = []
    for grid in grids:
        if not isinstance(grid, dict):
            raise ValueError(f"a grid is a dict of name -> list of values, got {grid!r}")
        unknown = sorted(set(grid) - set(SELECTION_PARAMS))
        if unknown:
            raise ValueError(f"unknown grid name(s) {unknown}; valid: {', '.join(SELECTION_PARAMS)}")
        for name, values in grid.items():
            if isinstance(values, (str, bytes)) or not hasattr(values, "__len__") or not len(values):
                raise ValueError(f"grid[{name!r}] must be a non-empty list of values, got {values!r}")
        names = list(grid)
        settings += [dict(zip(names, combo)) for combo in itertools.product(*grid.values())]
    return settings


def _inner_splits(inner_splits, splits, y, groups, rng_root: int) -> list[list]:
    """Per outer fold, its inner (fit, val) index pairs, in indices of the whole data."""
    result = []
    for o, (tr, _) in enumerate(splits):
        if callable(inner_splits):
            inner = [(np.asarray(a), np.asarray(b)) for a, b in inner_splits(tr)]
        elif isinstance(inner_splits, (list, tuple)):
            inner = [(np.asarray(a), np.asarray(b)) for a, b in inner_splits[o]]
        else:
            seed = np.random.default_rng([rng_root, o, 1])
            local = make_splits("stratified" if groups is None else "group", y[tr],
                                None if groups is None else groups[tr], inner_splits, seed)
            inner = [(tr[a], tr[b]) for a, b in local]
        in_train = np.zeros(len(y), bool)
        in_train[tr] = True
        for a, b in inner:
            if len(a) == 0 or len(b) == 0:
                raise ValueError(f"outer fold {o}: an inner split has no training or no "
                                 "validation rows")
            if not (in_train[a].all() and in_train[b].all()):
                raise ValueError(f"outer fold {o}: inner splits must use only that fold's "
                                 "training rows (an outer test row would leak)")
            if np.intersect1d(a, b).size:
                raise ValueError(f"outer fold {o}: an inner split shares rows between its "
                                 "training and validation sets")
        result.append(inner)
    return result


def grid_search_cv(X, y, param_grid, splits, *, inner_splits: int | Callable | list = 5,
                   groups=None, n_init: int = 1, outer: str = "ensemble", top_k: int = 1,
                   refit: bool = True,
                   epoch_metric: str = "loss", normalize: bool | dict = True,
                   n_classes: int | None = None, random_state: int = 0, max_models: int = 64,
                   keep_stacks: bool = False, progress: bool = False, n_jobs: int = 1,
                   **settings) -> GridSearchResult:
    """Nested cross-validation of a grid of settings, all models trained as stacks.

    Parameters
    ----------
    X : (n, d) raw features (normalised per model on its own training rows)
    y : (n,) int labels ``0..C-1``
    param_grid : dict or list of dict
        Name -> list of values, names from :class:`bpnet.settings.Settings` (see
        :func:`expand_grid`). ``n_hidden``, ``lr`` and ``weight_decay`` vary within one
        stack; any other name (``loss``, ``output``, ``hidden``, ``epochs``...) gives one
        group of stacks per value.
    splits : list of (train_idx, test_idx)
        The outer folds (:mod:`bpnet.splits`).
    inner_splits : int, callable or list
        An int ``k``: ``k`` inner folds of each outer training set, stratified (or
        grouped, when ``groups`` is given, with the same splitters as the outer folds).
        A callable ``f(train_idx) -> [(fit_idx, val_idx), ...]`` or a list (one such list
        per outer fold) gives them explicitly, as indices of the whole data.
    groups : (n,) array, optional
        Group of each row (the movie): inner folds then keep groups whole too.
    n_init : int
        Train every (setting, inner fold) this many times from different initial weights:
        the inner scores average them and the outer ensemble has ``n_init`` times the
        members.
    outer : {"ensemble", "refit"}
        The headline score: the chosen setting's inner models averaged (their outputs), or
        one network retrained on the outer training rows for the median inner best epoch.
    top_k : int
        The outer ensemble averages the inner models of the ``top_k`` settings with the best
        inner accuracy (1: the chosen setting's alone).
    refit : bool
        Also compute the refit scores when ``outer="ensemble"`` (costs one model per fold).
    epoch_metric : {"loss", "accuracy"}
        Each inner model keeps the epoch of its lowest validation loss (default) or of its
        highest validation accuracy.
    normalize : bool or dict
        Per-model :class:`~bpnet.preprocessing.Normalizer` (a dict gives its arguments).
    n_classes : int, optional
        Default ``max(y) + 1``.
    random_state : int
        Seeds the inner splits and the initial weights: all settings of one inner fold
        start from the same weights (per hidden size), so they are compared fairly.
    max_models : int
        Largest stack (small stacks keep the fused pass inside the CPU cache).
    keep_stacks : bool
        Keep the trained stacks in ``result.fit.stacks`` (for tests and inspection).
    progress : bool
        A progress bar over the models.
    n_jobs : int
        1: every stack trained here, serially. Otherwise the stacks (of all outer folds,
        then the outer folds' refits) go to ``n_jobs`` joblib workers of one BLAS thread
        each (-1: every core); under ``joblib.parallel_config(backend="dask")`` (or
        ``"ray"``) they run on that cluster. The result is bit-identical whatever
        ``n_jobs`` (needs ``bpnet-fer[parallel]`` when not 1; see :mod:`bpnet.parallel`).
    **settings
        Fixed training settings (:class:`bpnet.settings.Settings`: BPClassifier's names and defaults)
        except ``dtype`` (float32 here). ``epochs`` is the most each model trains; its
        best epoch is then chosen on its validation rows.

    Returns
    -------
    GridSearchResult

    Raises
    ------
    ValueError
        Unknown names, a name both in the grid and in ``settings``, inner splits that use
        outer test rows, bad ``outer``/``epoch_metric``.
    """
    t0 = time.perf_counter()
    if outer not in OUTER:
        raise ValueError(f"outer must be one of {OUTER}, got {outer!r}")
    for name, value in (("top_k", top_k), ("n_init", n_init)):
        if isinstance(value, bool) or int(value) != value or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if epoch_metric not in ("loss", "accuracy"):
        raise ValueError(f"epoch_metric must be 'loss' or 'accuracy', got {epoch_metric!r}")
    check_n_jobs(n_jobs)
    params = expand_grid(param_grid)
    both = sorted(set().union(*params) & set(settings))
    if both:
        raise ValueError(f"{both} given both in the grid and as fixed settings")
    fixed = selection_settings(settings, dtype="float32")
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y)
    if X.ndim != 2 or len(X) != len(y):
        raise ValueError(f"X must be (n, d) with one label per row; got X {X.shape}, y {y.shape}")
    n_classes = int(y.max()) + 1 if n_classes is None else int(n_classes)
    groups = None if groups is None else np.asarray(groups)
    splits = [(np.asarray(a), np.asarray(b)) for a, b in splits]
    inner = _inner_splits(inner_splits, splits, y, groups, int(random_state))
    n_inner = {len(s) for s in inner}
    if len(n_inner) != 1:
        raise ValueError(f"every outer fold needs the same number of inner folds, got {n_inner}")
    n_folds = n_inner.pop()
    # the inner models of an outer fold: each inner fold, n_init times from other weights
    n_out, n_in, n_set = len(splits), n_folds * n_init, len(params)

    for p in params:  # every setting is checked before any training
        check_setting({**fixed, **p})
    bases, where = _models_of(params, fixed)
    blocks, specs = [], []
    for o, (_, te) in enumerate(splits):
        for i, (a, b) in enumerate(inner[o]):
            for r in range(n_init):
                blocks.append(Block(np.sort(a), np.sort(b), te, (int(random_state), o, i, r)))
                specs += [ModelSpec(base, len(blocks) - 1, checkpoints=cp) for base, cp in bases]
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(specs) + (n_out if (refit or outer == "refit") else 0),
                   desc=f"nested search, {n_out} outer folds", unit="model")
    try:
        fit = fit_models(X, y, specs, blocks, n_classes=n_classes, normalize=normalize,
                         epoch_metric=epoch_metric, max_models=max_models,
                         random_state=random_state, keep_stacks=keep_stacks,
                         on_stack=None if bar is None else bar.update, n_jobs=n_jobs)
        # setting s of inner fold (o, i) is point p of model (o * n_in + i) * n_bases + b
        models = np.arange(n_out * n_in)[:, None] * len(bases) + where[:, 0]
        shape = (n_out, n_in, n_set)
        inner_acc = fit.val_accuracy[models, where[:, 1]].reshape(shape)
        inner_loss = fit.val_loss[models, where[:, 1]].reshape(shape)
        best_epoch = fit.best_epoch[models, where[:, 1]].reshape(shape)
        scores = inner_acc.mean(axis=1)
        chosen = scores.argmax(axis=1)  # ties: the first setting of the grid

        outer_outputs = [np.stack([[fit.outputs[models[o * n_in + i, s]][where[s, 1]]
                                    for s in range(n_set)] for i in range(n_in)])
                         for o in range(n_out)]  # (I, S, n_test, C) per outer fold
        fixed_acc = np.array([[np.mean(out[:, s].mean(axis=0).argmax(axis=1) == y[te])
                               for s in range(n_set)]
                              for out, (_, te) in zip(outer_outputs, splits)])
        refit_scores = None
        if refit or outer == "refit":
            rblocks = [Block(np.sort(tr), np.array([], np.int64), te,
                             (int(random_state), o, n_in)) for o, (tr, te) in enumerate(splits)]
            rspecs = [ModelSpec({**fixed, **params[chosen[o]]}, o,
                                epochs=max(1, int(round(np.median(best_epoch[o, :, chosen[o]])))))
                      for o in range(n_out)]
            rfit = fit_models(X, y, rspecs, rblocks, n_classes=n_classes, normalize=normalize,
                              max_models=max_models, random_state=random_state,
                              on_stack=None if bar is None else bar.update, n_jobs=n_jobs)
            refit_scores = score_outer_folds([out[0] for out in rfit.outputs], y, splits, n_classes)
    finally:
        if bar is not None:
            bar.close()
    c = fit.val_accuracy_curves.reshape(n_out * n_in, len(bases), -1)[:, where[:, 0]]
    ok = np.isfinite(c)
    count = ok.sum(axis=0)  # a setting's curve ends at its own epochs
    curves = np.where(count > 0, np.where(ok, c, 0.0).sum(axis=0) / np.maximum(count, 1), np.nan)
    grid_names = sorted(set().union(*params))
    result = GridSearchResult(
        params=[{k: p.get(k, fixed[k]) for k in grid_names} for p in params],
        settings={k: v for k, v in fixed.items() if k not in grid_names}, y_true=y,
        inner_accuracy=inner_acc, inner_loss=inner_loss, best_epoch=best_epoch, scores=scores,
        chosen=chosen, ensemble=None, refit=refit_scores, outer=outer,
        fixed_test_accuracy=fixed_acc, val_accuracy_curves=curves, splits=splits,
        inner_splits=inner, fit=fit if keep_stacks else None, outer_outputs=outer_outputs,
        top_k=top_k, n_classes=n_classes,
        n_networks=len(specs) + (n_out if refit_scores is not None else 0))
    result.ensemble = result.ensemble_scores(top_k)
    result.seconds = time.perf_counter() - t0
    return result


def _models_of(params: list[dict], fixed: dict) -> tuple[list, np.ndarray]:
    """The models one inner fold needs: settings that differ only in ``epochs`` share one
    model, scored at each of their epochs (checkpoints); a setting without ``epochs`` in
    its grid is its own model and keeps its best epoch.

    Returns ``[(setting, checkpoints or None), ...]`` and, per grid setting, ``(model,
    point)``: which model and which of its checkpoints it is.
    """
    index: dict[str, int] = {}
    bases: list = []
    where = []
    for p in params:
        rest = {k: v for k, v in p.items() if k != "epochs"}
        key = repr(sorted(rest.items())) + ("" if "epochs" in p else " best")
        if key not in index:
            index[key] = len(bases)
            bases.append([{**fixed, **rest}, set() if "epochs" in p else None])
        if "epochs" in p:
            bases[index[key]][1].add(int(p["epochs"]))
        where.append((index[key], p.get("epochs")))
    models = [(base, None if cp is None else tuple(sorted(cp))) for base, cp in bases]
    for base, cp in models:
        if cp is not None:
            base["epochs"] = cp[-1]
    points = [(b, 0 if e is None else models[b][1].index(int(e))) for b, e in where]
    return models, np.array(points, dtype=np.intp).reshape(-1, 2)


#: What ``bpnet tune`` searches by default, per protocol: the grid, the fixed settings and
#: the search's own options. The evidence is in docs/model_selection.rst.
RECOMMENDED = {
    # stratified folds: a wide tanh layer, regularised by input noise, trained long
    "stratified": {"grid": {"input_noise": [0.6, 1.0], "epochs": [100, 200, 400, 800]},
                   "settings": {"n_hidden": 64, "hidden": "tanh", "output": "softmax",
                                "loss": "cross_entropy", "lr": 0.01, "weight_decay": 0.001},
                   "n_init": 3},
    # movie-grouped folds: small, slow, class-balanced networks
    "group": {"grid": {"n_hidden": [8, 16], "epochs": [50, 100, 200, 300, 500]},
              "settings": {"hidden": "tanh", "output": "softmax", "loss": "cross_entropy",
                           "lr": 0.001, "weight_decay": 0.001, "class_weight": "balanced"},
              "n_init": 5},
}
