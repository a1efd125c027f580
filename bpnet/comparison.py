"""The typed result of a comparison of several models on the same repeated folds.

``fer-compare`` builds one :class:`ComparisonResult` from values its stages return (nothing
shared is mutated) and its report reads this object and nothing else. Everything here is
NumPy only, so the result can be read without PyTorch; ``to_json``/``from_json`` round-trip
exactly (the tests compare the JSON text of a result with that of its reread copy).

The statistics that fill :class:`Statistics` are computed by
:func:`bpnet.comparison_stats.summarise`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from .calibration import ReliabilityCurve
from .json_values import read_json, to_json_value
from .pairwise import PairComparison
from .prune_retrain import PruningHistory
from .rank_tests import FriedmanTest
from .results import CVResult
from .stats import JSONResult

__all__ = ["FORMAT", "ComparisonResult", "DataSummary", "Diagnosis", "ModelMetrics",
           "ModelRun", "Normalisation", "OptimiserRun", "PruningCurve", "Splits",
           "Statistics", "Studies", "constant_prediction_mse", "pruning_curve"]

FORMAT = "bpnet-fer/comparison"
VERSION = 2


@dataclass(frozen=True)
class DataSummary(JSONResult):
    """The samples every model saw.

    ``chance`` is the largest class's share (the accuracy of always guessing it);
    ``is_sfew`` says whether the paper's published values may be set beside this run's.
    """

    source: str
    n: int
    class_names: tuple[str, ...]
    class_counts: tuple[int, ...]
    n_groups: int
    chance: float
    notes: tuple[str, ...]
    is_sfew: bool


@dataclass(frozen=True)
class Splits(JSONResult):
    """The R x k folds every model was scored on, repeat by repeat.

    ``test_ids[j]`` are the sample ids of fold ``j % k`` of repeat ``j // k``.
    """

    kind: str
    k: int
    repeats: int
    seed: int
    test_ids: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class ModelRun:
    """One contender's cross-validation: its R x k folds and what each fold cost.

    ``result.folds`` are in the order of :class:`Splits`; their ``scores`` are class
    probabilities. ``fit_seconds``, ``n_params`` and ``predict_ms`` hold one value per fold.
    ``info`` holds each fold's JSON-safe facts (the BP stack's pruning history, ...).
    """

    name: str
    description: str
    input: str
    recipe: dict
    why: str
    result: CVResult
    fit_seconds: tuple[float, ...]
    n_params: tuple[int, ...]
    predict_ms: tuple[float, ...]
    info: tuple[dict, ...]

    def to_dict(self) -> dict[str, Any]:
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["result"] = self.result.to_dict()
        return to_json_value(d)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ModelRun":
        return cls(d["name"], d["description"], d["input"], d["recipe"], d["why"],
                   CVResult.from_dict(d["result"]), tuple(d["fit_seconds"]),
                   tuple(d["n_params"]), tuple(d["predict_ms"]), tuple(d["info"]))


@dataclass(frozen=True)
class OptimiserRun(JSONResult):
    """Fig. 2: one optimiser's mean training-loss curve over the folds."""

    name: str
    lr: float
    train_loss_mean: tuple[float, ...]
    train_loss_sd: tuple[float, ...]
    test_accuracy_mean: float


@dataclass(frozen=True)
class PruningCurve(JSONResult):
    """Fig. 4: one point per prune-and-retrain round (the first is before any pruning).

    Losses are None where nothing was measured (no round ran).
    """

    label: str
    n_hidden: int
    units_pruned: tuple[float, ...]
    train_loss: tuple[float | None, ...]
    test_loss: tuple[float | None, ...]
    test_accuracy: tuple[float, ...]
    units_removed_mean: float


def pruning_curve(history: PruningHistory, n_hidden_before, n_hidden_after,
                  test_accuracy_before, label: str, n_hidden: int) -> PruningCurve:
    """Fig. 4's points from the :class:`~bpnet.prune_retrain.PruningHistory` of a stack.

    Parameters
    ----------
    history : PruningHistory
        Of a stack of one network per fold (each round's measures hold one value per fold).
    n_hidden_before, n_hidden_after : (K,) array-like of int
        Live hidden units of each fold's network before and after pruning.
    test_accuracy_before : (K,) array-like of float
        Each fold's test accuracy before pruning (the first point when no round ran).
    """
    before, after = np.asarray(n_hidden_before, float), np.asarray(n_hidden_after, float)
    n_models = len(before)
    units, train_loss, test_loss, test_acc = [0.0], [], [], []
    if history.rounds:
        first = history.rounds[0]
        train_loss.append(float(np.mean(first.train_before[0])))
        test_loss.append(float(np.mean(first.val_before[0])))
        test_acc.append(float(np.mean(first.val_before[1])))
    else:
        train_loss.append(None)
        test_loss.append(None)
        test_acc.append(float(np.mean(test_accuracy_before)))
    for rnd in history.rounds:
        units.append(units[-1] + len(rnd.removed) / n_models)
        train_loss.append(float(np.mean(rnd.train_after[0])))
        test_loss.append(float(np.mean(rnd.val_after[0])))
        test_acc.append(float(np.mean(rnd.val_after[1])))
    return PruningCurve(label, int(n_hidden), tuple(units), tuple(train_loss), tuple(test_loss),
                        tuple(test_acc), float(np.mean(before - after)))


@dataclass(frozen=True)
class Normalisation(JSONResult):
    """Fig. 1: each feature's histogram before and after the normaliser (fitted on all rows,
    for the figure only; the models fit theirs on each fold's training rows)."""

    feature_names: tuple[str, ...]
    log: tuple[bool, ...]
    skewness: tuple[float, ...]
    before: tuple[tuple[tuple[float, ...], tuple[float, ...]], ...]
    after: tuple[tuple[tuple[float, ...], tuple[float, ...]], ...]


def constant_prediction_mse(class_counts) -> float:
    r"""The MSE (mean over the C outputs) of predicting the class frequencies for every sample.

    With one-hot targets and a constant prediction :math:`p_c = n_c / n`, the loss is
    :math:`\frac{1}{C}\sum_c p_c (1 - p_c)`, the lowest any constant prediction reaches:
    :math:`6/49 = 0.1224` for 7 equal classes. A sigmoid network stuck at this value has
    learnt the class frequencies and nothing of the inputs.
    """
    n = np.asarray(class_counts, float)
    p = n / n.sum()
    return float(np.sum(p * (1 - p)) / len(p))


@dataclass(frozen=True)
class Studies:
    """The paper's side studies of the BP network (Figs. 1, 2 and 4)."""

    settings: dict
    normalisation: Normalisation
    optimisers: tuple[OptimiserRun, ...]
    pruning: tuple[PruningCurve, ...]
    constant_loss: float

    def to_dict(self) -> dict[str, Any]:
        return {"settings": to_json_value(self.settings),
                "normalisation": self.normalisation.to_dict(),
                "optimisers": [o.to_dict() for o in self.optimisers],
                "pruning": [p.to_dict() for p in self.pruning],
                "constant_loss": self.constant_loss}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Studies":
        return cls(d["settings"], Normalisation.from_dict(d["normalisation"]),
                   tuple(OptimiserRun.from_dict(o) for o in d["optimisers"]),
                   tuple(PruningCurve.from_dict(p) for p in d["pruning"]), d["constant_loss"])


@dataclass(frozen=True)
class ModelMetrics(JSONResult):
    """One model's leaderboard row.

    ``metrics`` holds ``(name, mean, low, high)``: the mean over the R x k folds and its 95 %
    Nadeau-Bengio corrected interval. ``pooled`` holds each class's precision, recall and
    specificity from the summed confusion matrix, as ``(metric, values per class)``.
    """

    model: str
    metrics: tuple[tuple[str, float, float, float], ...]
    train_accuracy: float
    fit_seconds: float
    n_params: float
    predict_ms: float
    pooled_accuracy: float
    per_class: tuple[tuple[str, tuple[float, ...]], ...]
    confusion: tuple[tuple[int, ...], ...]

    def metric(self, name: str) -> tuple[float, float, float]:
        """``(mean, low, high)`` of ``name``."""
        for m, mean, lo, hi in self.metrics:
            if m == name:
                return mean, lo, hi
        raise KeyError(name)


@dataclass(frozen=True)
class Diagnosis(JSONResult):
    """How a model with epochs ended: under-trained, under-fitting, over-fitting or fine.

    ``best_epoch`` is the epoch (1-based) of the lowest mean test loss; ``last_gain`` the
    mean test accuracy gained over the last fifth of the epochs; None for a model without
    curves.
    """

    model: str
    verdict: str
    train_accuracy: float
    test_accuracy: float
    gap: float
    above_chance: float
    best_epoch: int | None
    epochs: int | None
    last_gain: float | None


@dataclass(frozen=True)
class Statistics:
    """Every statistic the report prints."""

    metrics: tuple[ModelMetrics, ...]
    pairs: tuple[PairComparison, ...]
    friedman: FriedmanTest | None
    reliability: tuple[tuple[str, ReliabilityCurve], ...]
    diagnoses: tuple[Diagnosis, ...]
    best: str
    alpha: float

    def to_dict(self) -> dict[str, Any]:
        return {"metrics": [m.to_dict() for m in self.metrics],
                "pairs": [p.to_dict() for p in self.pairs],
                "friedman": None if self.friedman is None else self.friedman.to_dict(),
                "reliability": [[name, c.to_dict()] for name, c in self.reliability],
                "diagnoses": [d.to_dict() for d in self.diagnoses],
                "best": self.best, "alpha": self.alpha}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Statistics":
        return cls(tuple(ModelMetrics.from_dict(m) for m in d["metrics"]),
                   tuple(PairComparison.from_dict(p) for p in d["pairs"]),
                   None if d["friedman"] is None else FriedmanTest.from_dict(d["friedman"]),
                   tuple((n, ReliabilityCurve.from_dict(c)) for n, c in d["reliability"]),
                   tuple(Diagnosis.from_dict(x) for x in d["diagnoses"]), d["best"],
                   d["alpha"])


@dataclass(frozen=True)
class ComparisonResult:
    """One ``fer-compare`` run: what was compared, on which folds, and every statistic.

    Attributes
    ----------
    settings : dict
        The run's settings (split, folds, repeats, seed, device, models, quick, ...).
    versions : dict
    data : DataSummary
    splits : Splits
    models : tuple of ModelRun
        In the order they were asked for.
    studies : Studies or None
        The BP network's side studies (when ``bp-paper`` ran).
    statistics : Statistics
    paper : dict or None
        The paper's published values, only when the data is SFEW.
    timing : dict
        Seconds per stage and in total.
    """

    settings: dict
    versions: dict
    data: DataSummary
    splits: Splits
    models: tuple[ModelRun, ...]
    studies: Studies | None
    statistics: Statistics
    paper: dict | None
    timing: dict

    def model(self, name: str) -> ModelRun:
        """The run of the model called ``name``."""
        for m in self.models:
            if m.name == name:
                return m
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "version": VERSION,
                "settings": to_json_value(self.settings), "versions": dict(self.versions),
                "data": self.data.to_dict(), "splits": self.splits.to_dict(),
                "models": [m.to_dict() for m in self.models],
                "studies": None if self.studies is None else self.studies.to_dict(),
                "statistics": self.statistics.to_dict(), "paper": self.paper,
                "timing": to_json_value(self.timing)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ComparisonResult":
        if d.get("format") != FORMAT:
            raise ValueError(f"not a comparison result (format {d.get('format')!r})")
        return cls(d["settings"], d["versions"], DataSummary.from_dict(d["data"]),
                   Splits.from_dict(d["splits"]),
                   tuple(ModelRun.from_dict(m) for m in d["models"]),
                   None if d["studies"] is None else Studies.from_dict(d["studies"]),
                   Statistics.from_dict(d["statistics"]), d["paper"], d["timing"])

    def to_json(self, path: str | Path | None = None) -> str:
        """The JSON text; also written to ``path`` when given.

        Missing measurements are null; an unbounded test statistic (a t or F of every fold
        agreeing) is written ``Infinity``, as Python's ``json`` writes and reads it, so the
        text reads back to an equal result.
        """
        text = json.dumps(self.to_dict(), allow_nan=True, indent=1) + "\n"
        if path is not None:
            Path(path).write_text(text)
        return text

    @classmethod
    def from_json(cls, text_or_path: str | Path) -> "ComparisonResult":
        """Read a result from JSON text or from a file."""
        return cls.from_dict(read_json(text_or_path))
