"""The stages of ``fer-compare`` after the data and the splits: each returns a value.

* :func:`choose_models`: the contenders ``--models`` names, or the device's defaults;
* :func:`reuse_or_compute`: one stage's value, from ``stages/<name>.json`` when resuming;
* :func:`fit_model`: one contender on every (repeat, fold), each fold saved to
  ``stages/<model>/r<R>-f<K>.json`` as it finishes and reused by ``--resume``;
* :func:`run_studies`: the paper's side studies of the BP network (Figs. 1, 2 and 4);
* :func:`build_result`: the typed :class:`~bpnet.comparison.ComparisonResult`.

Nothing here mutates a shared object; the run folder is written through its
:class:`~bpnet.outdir.RunDir` only.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from bpnet.comparison import (
    ComparisonResult,
    DataSummary,
    ModelRun,
    Normalisation,
    OptimiserRun,
    Splits,
    Studies,
    constant_prediction_mse,
    pruning_curve,
)
from bpnet.outdir import RunDir
from bpnet.results import CVResult, FoldResult

from .contenders import Contender, Fold, FoldFit
from .stagefile import read_stage

__all__ = ["OPTIMISERS", "WIDE_PRUNING", "build_result", "choose_models", "fit_model",
           "fold_seed", "is_sfew", "reuse_or_compute", "run_studies"]

#: Fig. 2, the same effective step for SGD and momentum (lr / (1 - momentum)), Adam at its own
OPTIMISERS = (("SGD", {"optimizer": "sgd", "lr": 1.0, "momentum": 0.0}),
              ("SGD + momentum 0.9", {"optimizer": "sgd", "lr": 0.1, "momentum": 0.9}),
              ("Adam", {"optimizer": "adam", "lr": 0.01}))
#: Fig. 4b, a setting where distinctiveness pruning does remove units (a wide network whose
#: many units see only 10 inputs, so some become near-duplicates), with the paper's rule.
WIDE_PRUNING = {"n_hidden": 128, "epochs": 300, "epochs_per_round": 20, "max_per_round": 4}

Say = Callable[[str], None]


def choose_models(spec: str | None, device: str) -> list[Contender]:
    """The contenders ``--models`` names (comma-separated), or this device's defaults."""
    from . import contenders

    if spec is None:
        return contenders.available(device)
    names = [n.strip() for n in spec.split(",") if n.strip()]
    if not names:
        raise ValueError("--models: give at least one model name (see --list-models)")
    if len(set(names)) != len(names):
        raise ValueError(f"--models: a model is named twice in {spec!r}")
    return [contenders.get(n) for n in names]


def reuse_or_compute(run: RunDir, name: str, compute, say: Say, to_dict, from_dict, *,
                     check=None):
    """Load ``stages/<name>.json`` when resuming, else compute it and save it.

    A stage file that cannot be read back (emptied, truncated, garbled, another shape) is one
    error naming it (``resnet_fer.stagefile.read_stage``); ``check`` validates the JSON
    value beyond what ``from_dict`` needs.
    """
    path = run.path / "stages" / f"{name}.json"
    if run.resumed and path.is_file():
        say(f"  {name}: reused from {path}")

        def readable(value):
            if check is not None:
                check(value)
            from_dict(value)

        return from_dict(read_stage(path, readable))
    value = compute()
    run.file("stages").mkdir(exist_ok=True)
    run.write_text(f"stages/{name}.json", json.dumps(to_dict(value), allow_nan=True))
    return value


def fold_seed(seed: int, repeat: int, index: int) -> int:
    """The seed a contender gets on fold ``index`` of ``repeat`` (the same for every model)."""
    return int(seed) + 1000 * int(repeat) + int(index)


def _fit_to_dict(fit: FoldFit) -> dict[str, Any]:
    return {"result": fit.result.to_dict(), "n_params": int(fit.n_params),
            "fit_seconds": float(fit.fit_seconds),
            "predict_ms_per_image": float(fit.predict_ms_per_image), "info": fit.info}


def _fit_from_dict(d: dict[str, Any]) -> FoldFit:
    return FoldFit(FoldResult.from_dict(d["result"]), d["n_params"], d["fit_seconds"],
                   d["predict_ms_per_image"], d["info"])


def fit_model(contender: Contender, recipe: dict, why: str, data, splits: Sequence,
              k: int, run: RunDir, *, seed: int, device: str, progress: bool,
              say: Say) -> ModelRun:
    """``contender`` on every (repeat, fold) of ``splits``; finished folds are reused.

    ``splits`` hold R x k (train, test) pairs, repeat by repeat. Each repeat's missing folds
    go to :meth:`Contender.fit_folds` together (the BP network trains them as one stack).
    """
    name = contender.name
    folder = run.file(f"stages/{name}")
    folder.mkdir(parents=True, exist_ok=True)
    repeats = len(splits) // k
    fits: list[FoldFit | None] = [None] * len(splits)
    for j in range(len(splits)):
        path = folder / f"r{j // k}-f{j % k}.json"
        if run.resumed and path.is_file():
            fits[j] = _fit_from_dict(read_stage(path, _fit_from_dict))
    reused = sum(f is not None for f in fits)
    if reused:
        say(f"  {name}: reused {reused} of {len(splits)} folds from {folder}")
    for r in range(repeats):
        todo = [j for j in range(r * k, (r + 1) * k) if fits[j] is None]
        if not todo:
            continue
        folds = [Fold(np.asarray(splits[j][0]), np.asarray(splits[j][1]), data.y, data.groups,
                      data.class_names, X=data.X, images=data.images, repeat=r, index=j % k,
                      seed=fold_seed(seed, r, j % k), device=device,
                      workdir=run.file(f"folds/{name}/r{r}-f{j % k}"), progress=progress)
                 for j in todo]
        for j, fit in zip(todo, contender.fit_folds(folds, recipe)):
            fits[j] = fit
            run.write_text(f"stages/{name}/r{r}-f{j % k}.json",
                           json.dumps(_fit_to_dict(fit), allow_nan=True))
    result = CVResult(name, [f.result for f in fits], tuple(data.class_names), len(data.y),
                      list(data.ids), dict(recipe), {"device": device})
    return ModelRun(name, contender.description, contender.input, recipe, why, result,
                    tuple(float(f.fit_seconds) for f in fits),
                    tuple(int(f.n_params) for f in fits),
                    tuple(float(f.predict_ms_per_image) for f in fits),
                    tuple(f.info for f in fits))


def _normalisation(X: np.ndarray, names: Sequence[str]) -> Normalisation:
    """Histograms of every feature before and after a Normalizer fitted on all rows (Fig. 1)."""
    from bpnet.preprocessing import Normalizer

    norm = Normalizer().fit(X)
    Z = norm.transform(X)

    def hist(col):
        counts, edges = np.histogram(col, bins=30)
        return tuple(float(c) for c in counts), tuple(float(e) for e in edges)

    return Normalisation(tuple(names), tuple(bool(v) for v in norm.log_columns_),
                         tuple(float(v) for v in norm.skewness_),
                         tuple(hist(X[:, j]) for j in range(X.shape[1])),
                         tuple(hist(Z[:, j]) for j in range(Z.shape[1])))


def run_studies(bp: ModelRun, data, splits: Sequence, k: int, quick: bool, seed: int,
                progress: bool) -> Studies:
    """Figs. 1, 2 and 4 of the paper for the BP network, on the first repeat's folds.

    The paper's pruning curve is read from ``bp``'s own first repeat (the history its stack
    recorded); the optimisers and the wide network are trained here.
    """
    import bpnet
    from bpnet.prune_retrain import PruningHistory
    from bpnet.pruning import DistinctivenessPruner

    first = list(splits[:k])
    recipe = {key: v for key, v in bp.recipe.items() if key != "epochs_per_round"}
    common = {"class_names": data.class_names, "random_state": seed, "progress": progress}
    optimisers = []
    for name, opt in OPTIMISERS:
        res = bpnet.cross_validate(data.X, data.y, first, **common, **{**recipe, **opt})
        loss = res.curves["train_loss"]
        optimisers.append(OptimiserRun(name, float(opt["lr"]),
                                       tuple(float(v) for v in loss.mean(1)),
                                       tuple(float(v) for v in loss.std(1)),
                                       float(np.mean(res.fold_test_accuracy))))
    w = WIDE_PRUNING if not quick else {**WIDE_PRUNING, "epochs": 30, "epochs_per_round": 5}
    pruner = DistinctivenessPruner(compensate=True, max_per_round=w["max_per_round"])
    wide = bpnet.cross_validate(data.X, data.y, first, prune=pruner,
                                epochs_per_round=w["epochs_per_round"], **common,
                                **{**recipe, "n_hidden": w["n_hidden"], "epochs": w["epochs"]})
    info = bp.info[:k]
    curves = (
        pruning_curve(PruningHistory.from_dict(info[0]["pruning"]),
                      [f["n_hidden_before"] for f in info], [f["n_hidden"] for f in info],
                      [f["test_accuracy_before_pruning"] for f in info],
                      f"{recipe['n_hidden']} units, the paper's rule", recipe["n_hidden"]),
        pruning_curve(PruningHistory.from_dict(wide.extra["pruning"]),
                      wide.extra["before_pruning"]["n_hidden"], wide.extra["n_hidden"],
                      wide.extra["before_pruning"]["test_accuracy"],
                      f"{w['n_hidden']} units, same rule, compensated", w["n_hidden"]))
    counts = np.bincount(data.y, minlength=len(data.class_names))
    settings = {**bp.recipe, "n_inputs": int(data.X.shape[1]), "normalize": True,
                "wide": dict(w)}
    return Studies(settings, _normalisation(data.X, data.feature_names), tuple(optimisers),
                   curves, constant_prediction_mse(counts))


def build_result(*, settings: dict, versions: dict, data, splits: Sequence, k: int,
                 repeats: int, seed: int, kind: str, models: Sequence[ModelRun],
                 studies: Studies | None, is_sfew: bool, paper: dict | None,
                 timing: dict) -> ComparisonResult:
    """The typed result of the run, statistics included."""
    from bpnet.comparison_stats import summarise

    counts = np.bincount(data.y, minlength=len(data.class_names))
    summary = DataSummary(str(data.source), int(len(data.y)), tuple(data.class_names),
                          tuple(int(c) for c in counts), int(len(np.unique(data.groups))),
                          float(counts.max() / counts.sum()), tuple(data.notes), bool(is_sfew))
    test_ids = tuple(tuple(data.ids[i] for i in te) for _, te in splits)
    t0 = time.perf_counter()
    stats = summarise(models, data.y, data.groups, repeats, kind == "group", summary.chance,
                      seed=seed)
    timing = {**timing, "statistics": time.perf_counter() - t0}
    timing["total_seconds"] = float(sum(v for key, v in timing.items()
                                        if key != "total_seconds"))
    return ComparisonResult(settings, versions, summary,
                            Splits(kind, int(k), int(repeats), int(seed), test_ids),
                            tuple(models), studies, stats, paper, timing)


def is_sfew(source: str | None, class_names: Sequence[str], n: int, flag: bool) -> bool:
    """Whether the paper's SFEW values may stand beside this run's: ``--sfew``, or an image
    folder with SFEW's seven classes and about its 675 images (600-750)."""
    from .paper_values import PAPER

    if flag:
        return True
    return (source is not None and Path(source).is_dir()
            and list(class_names) == PAPER["class_names"] and 600 <= n <= 750)
