"""The statistics of a comparison: leaderboard intervals, pairwise tests, ranks, calibration.

:func:`summarise` turns the models' cross-validation results (on the same R x k folds) into
the :class:`~bpnet.comparison.Statistics` a report prints. Each number says how it was
computed:

* each metric's mean over the R x k folds with its 95 % Nadeau-Bengio corrected resampled-t
  interval (:func:`bpnet.stats.corrected_resampled_t` on the metric itself);
* each pair's corrected t, exact McNemar over the repeats' out-of-fold predictions, and on a
  grouped split the bootstrap over groups, Holm-adjusted (:func:`bpnet.pairwise.compare_pairs`);
* the Friedman test with Nemenyi's critical difference over the (repeat, fold) blocks
  (:func:`bpnet.rank_tests.friedman`), for two models or more;
* the expected calibration error per fold and a reliability curve of the pooled
  out-of-fold probabilities (:mod:`bpnet.calibration`);
* a diagnosis that tells an under-trained model from an under-fitting one.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .calibration import expected_calibration_error, reliability_curve
from .comparison import Diagnosis, ModelMetrics, ModelRun, Statistics
from .metrics import per_class_metrics
from .pairwise import compare_pairs
from .rank_tests import friedman
from .stats import corrected_resampled_t

__all__ = ["METRICS", "diagnose", "fold_metrics", "summarise"]

#: the leaderboard's metrics, in its column order, with the words the report defines them by
METRICS = {
    "accuracy": "share of test images classified correctly",
    "balanced_accuracy": "mean over classes of the recall (each class counts the same, "
                         "whatever its size)",
    "macro_f1": "mean over classes of F1, twice precision times recall over their sum",
    "kappa": "Cohen's kappa: accuracy corrected for the agreement expected by chance from "
             "the predicted and true class shares (zero at chance, one when perfect)",
    "ece": "expected calibration error: the gap between confidence and accuracy, averaged "
           "over fifteen equal-width confidence bins weighted by their size (lower is better)",
}


def fold_metrics(y_true: np.ndarray, y_pred: np.ndarray, proba: np.ndarray,
                 n_classes: int) -> dict[str, float]:
    """Every :data:`METRICS` value of one fold's test predictions.

    Parameters
    ----------
    y_true, y_pred : (n_test,) int
    proba : (n_test, n_classes) class probabilities (rows sum to 1)
    """
    m = per_class_metrics(y_true, y_pred, n_classes)
    cm = m.confusion.astype(float)
    n = cm.sum()
    present = m.support > 0  # a class absent from the test fold has no recall to average
    po = np.trace(cm) / n
    pe = float(np.sum(cm.sum(0) * cm.sum(1))) / n ** 2
    return {"accuracy": float(po),
            "balanced_accuracy": float(m.recall[present].mean()),
            "macro_f1": float(m.f1[present].mean()),
            "kappa": float((po - pe) / (1 - pe)) if pe < 1 else 0.0,
            "ece": expected_calibration_error(y_true, proba)}


def _interval(values: np.ndarray, n_train: float, n_test: float) -> tuple[float, float, float]:
    mean = float(np.mean(values))
    if len(values) < 2:
        return mean, mean, mean
    t = corrected_resampled_t(values, n_train, n_test)
    return mean, float(t.ci_low), float(t.ci_high)


def diagnose(run: ModelRun, chance: float) -> Diagnosis:
    """Under-trained, under-fitting, over-fitting or a reasonable fit, from the curves.

    * under-trained: the mean test loss is lowest in the last epoch, or the mean test
      accuracy still rose over the last fifth of the epochs (more epochs would help; the
      other verdicts wait until the model has converged);
    * over-fitting: train accuracy above test accuracy by more than 15 points, or the mean
      test loss ends more than 10 % above its lowest value;
    * under-fitting: a converged model whose train accuracy stays below 60 %.
    """
    r = run.result
    train = float(np.mean(r.fold_train_accuracy))
    test = float(np.mean(r.fold_test_accuracy))
    curves = r.curves
    loss, acc = curves.get("test_loss"), curves.get("test_accuracy")
    best = epochs = gain = None
    rise = 0.0
    if loss is not None and loss.size and not np.all(np.isnan(loss)):
        mean_loss = np.nanmean(loss, axis=1)
        epochs = int(len(mean_loss))
        best = int(np.nanargmin(mean_loss)) + 1
        low = float(np.nanmin(mean_loss))
        rise = float(mean_loss[-1] / low - 1.0) if low > 0 else 0.0
    if acc is not None and acc.size and not np.all(np.isnan(acc)):
        mean_acc = np.nanmean(acc, axis=1)
        tail = max(1, len(mean_acc) // 5)
        gain = float(mean_acc[-1] - mean_acc[-1 - tail]) if len(mean_acc) > tail else 0.0
    under_trained = epochs is not None and epochs > 1 and (
        best == epochs or (gain is not None and gain > 0.01))
    over = train - test > 0.15 or rise > 0.10
    if under_trained:
        verdict = ("under-trained: the test loss is still at its lowest in the last epoch or "
                   "the test accuracy is still rising; more epochs would help")
    elif over and train < 0.6:
        verdict = ("under-fitting (train accuracy below 60 % after convergence) and "
                   "over-fitting (what it fits does not carry over to the test folds)")
    elif over:
        verdict = "over-fitting"
    elif train < 0.6:
        verdict = "under-fitting: converged with train accuracy below 60 %"
    else:
        verdict = "a reasonable fit"
    return Diagnosis(run.name, verdict, train, test, train - test, test - chance, best, epochs,
                     gain)


def summarise(models: Sequence[ModelRun], y: np.ndarray, groups: np.ndarray | None,
              repeats: int, grouped: bool, chance: float, alpha: float = 0.05,
              n_boot: int = 9999, seed: int = 0) -> Statistics:
    """Every statistic of the report, from the models' results on the same folds.

    Parameters
    ----------
    models : sequence of ModelRun
        All scored on the same R x k folds, in the same order.
    y : (n,) int
        Every sample's label.
    groups : (n,) or None
        Each sample's group (movie); used for the bootstrap when ``grouped``.
    repeats : int
        R; the folds are repeat by repeat.
    grouped : bool
        Whether the split kept groups whole (adds the bootstrap over groups).
    chance : float
        The largest class's share, for the diagnosis.
    """
    y = np.asarray(y, np.int64)
    first = models[0].result
    n_classes = first.n_classes
    k = len(first.folds) // repeats
    n_test = float(np.mean([len(f.test_idx) for f in first.folds]))
    n_train = float(np.mean([f.n_train for f in first.folds]))
    table, fold_acc, preds, reliability = [], {}, {}, []
    for run in models:
        r = run.result
        per_fold = [fold_metrics(f.y_true, f.y_pred, f.scores, n_classes) for f in r.folds]
        metrics = tuple((name, *_interval(np.array([m[name] for m in per_fold]), n_train, n_test))
                        for name in METRICS)
        pooled = r.pooled
        table.append(ModelMetrics(
            run.name, metrics, float(np.mean(r.fold_train_accuracy)),
            float(np.mean(run.fit_seconds)), float(np.mean(run.n_params)),
            float(np.mean(run.predict_ms)),
            float(np.trace(pooled.confusion) / pooled.confusion.sum()),
            tuple((m, tuple(float(v) for v in getattr(pooled, m)))
                  for m in ("precision", "recall", "specificity")),
            tuple(tuple(int(v) for v in row) for row in pooled.confusion)))
        fold_acc[run.name] = np.array([m["accuracy"] for m in per_fold]).reshape(repeats, k)
        pred = np.full((repeats, len(y)), -1, np.int64)
        for j, f in enumerate(r.folds):
            pred[j // k, f.test_idx] = f.y_pred
        preds[run.name] = pred
        proba = np.concatenate([f.scores for f in r.folds])
        truth = np.concatenate([f.y_true for f in r.folds])
        reliability.append((run.name, reliability_curve(truth, proba)))
    pairs: tuple = ()
    if len(models) >= 2:
        complete = all(np.all(p >= 0) for p in preds.values())  # every sample once per repeat
        pairs = compare_pairs(fold_acc, n_train, n_test,
                              y_true=y if complete else None,
                              predictions=preds if complete else None,
                              groups=groups if grouped and complete else None,
                              n_boot=n_boot, seed=seed)
    rank = None
    if len(models) >= 2 and repeats * k >= 2:
        rank = friedman(np.stack([fold_acc[m.name].ravel() for m in models], axis=1),
                        [m.name for m in models], alpha)
    best = max(table, key=lambda m: m.metric("accuracy")[0]).model
    return Statistics(tuple(table), tuple(pairs), rank, tuple(reliability),
                      tuple(diagnose(run, chance) for run in models), best, alpha)
