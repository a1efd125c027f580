"""Cross-validation with every fold trained at once, as one stacked array program.

K folds become one :class:`~bpnet.BPNetwork` with ``n_models=K``: fold k's
inputs are normalised with statistics of its own training rows only (so the
input is ``(K, n, d)``), its training mask selects the rows its loss sees, and
its test mask the rows it is scored on. One ``matmul`` then trains all K
networks, which for the paper's 20 folds is far faster than 20 separate runs
and gives exactly the same numbers (the tests check this).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .crossval import fold_masks
from .estimator import build_network, build_optimizer, resolve_class_weight, training_settings
from .metrics import accuracy_mean_std, confusion_matrix, per_class_metrics, pool_confusion
from .network import BPNetwork
from .preprocessing import Normalizer
from .prune_retrain import PruningHistory, prune_and_retrain
from .pruning import DistinctivenessPruner
from .training import evaluate, predict_outputs, train


@dataclass
class CVResult:
    """Out-of-fold predictions, per-fold confusion matrices and learning curves.

    Attributes
    ----------
    y_true, y_pred : (n,)
        Labels and out-of-fold predictions (each sample predicted by the one
        model that did not train on it).
    confusions : (K, C, C)
        Per-fold test confusion matrices.
    train_accuracy, test_accuracy : (K,)
        Final accuracies per fold.
    curves : dict of (epochs, K) arrays
        ``train_loss``, ``train_accuracy``, ``test_loss``, ``test_accuracy`` per epoch.
    n_hidden : (K,)
        Hidden units per fold at the end (after pruning, if any).
    before_pruning : dict or None
        ``test_accuracy``/``train_accuracy``/``n_hidden``/``confusions`` before pruning.
    pruning : PruningHistory or None
    net : BPNetwork
        The trained stack.
    """

    y_true: np.ndarray
    y_pred: np.ndarray
    confusions: np.ndarray
    train_accuracy: np.ndarray
    test_accuracy: np.ndarray
    curves: dict
    n_hidden: np.ndarray
    net: BPNetwork
    before_pruning: dict | None = None
    pruning: PruningHistory | None = None
    splits: list = field(default_factory=list, repr=False)

    @property
    def pooled(self):
        """Per-class metrics of the pooled confusion matrix (the paper's Tables 1-2)."""
        return per_class_metrics(cm=pool_confusion(self.confusions))

    def summary(self) -> dict:
        mean, std = accuracy_mean_std(self.confusions)
        out = {"folds": len(self.confusions), "test_accuracy_mean": mean, "test_accuracy_std": std,
               "train_accuracy_mean": float(self.train_accuracy.mean()),
               "n_hidden_mean": float(self.n_hidden.mean())}
        if self.before_pruning is not None:
            b_mean, b_std = accuracy_mean_std(self.before_pruning["confusions"])
            out.update(test_accuracy_mean_before_pruning=b_mean,
                       test_accuracy_std_before_pruning=b_std,
                       n_hidden_mean_before_pruning=float(np.mean(self.before_pruning["n_hidden"])))
        return out


def normalize_per_fold(X: np.ndarray, train_masks: np.ndarray, **normalizer_kwargs) -> np.ndarray:
    """``(K, n, d)``: X normalised with each fold's training statistics (no leakage)."""
    return np.stack([Normalizer(**normalizer_kwargs).fit(X[m]).transform(X) for m in train_masks])


def cross_validate(X, y, splits, *, normalize: bool | dict = True, n_classes: int | None = None,
                   prune: bool | DistinctivenessPruner = False, epochs_per_round: int = 50,
                   random_state=0, progress: bool = False, **settings) -> CVResult:
    """Train one network per fold, all at once, and score each on its test fold.

    Parameters
    ----------
    X : (n, d)
        Features (raw: normalisation is fitted per fold when ``normalize``).
    y : (n,) int labels ``0..C-1``
    splits : list of (train_idx, test_idx)
        From :mod:`bpnet.crossval`. A fold may have no test rows (its test curves are NaN).
    normalize : bool or dict
        Per-fold :class:`~bpnet.preprocessing.Normalizer` (a dict gives its arguments).
    prune : bool or DistinctivenessPruner
        After training, run the paper's prune-retrain loop on every fold
        (True: the paper's preset).
    epochs_per_round : int
        Retraining epochs after each pruning round.
    random_state : int or np.random.Generator
        Seeds the whole stack's initial weights (and the mini-batch order).
    progress : bool
        Progress bar over epochs (and pruning rounds).
    **settings
        The network and its training, exactly as :class:`~bpnet.BPClassifier` takes them
        (:data:`bpnet.estimator.TRAINING_PARAMS`: ``n_hidden``, ``hidden``, ``output``,
        ``loss``, ``optimizer``, ``lr``, ``epochs``, ``batch_size``, ``weight_decay``,
        ``momentum``, ``class_weight``, ``init``, ``dtype``) with the same defaults, except
        ``dtype``: float32 here (set ``dtype="float64"`` for exact comparisons).
        ``class_weight="balanced"`` counts the labels of all rows.
    n_classes : int, optional
        Default ``max(y) + 1``.

    Notes
    -----
    Fold k of the result equals training fold k alone with the same initial weights
    (to 1e-10 in float64, full batch; tested). A 1-fold run with ``normalize=False``
    equals :meth:`BPClassifier.fit <bpnet.BPClassifier.fit>` with the same settings and
    seed bit for bit.
    """
    cfg = training_settings(settings, dtype="float32")
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    n_classes = int(y.max()) + 1 if n_classes is None else n_classes
    train_m, test_m = fold_masks(splits, len(y))
    K = len(splits)
    if normalize:
        Xs = normalize_per_fold(X, train_m, **(normalize if isinstance(normalize, dict) else {}))
    else:
        Xs = X
    rng = np.random.default_rng(random_state)
    cw = resolve_class_weight(cfg["class_weight"], y, n_classes)
    net = build_network(cfg, X.shape[1], n_classes, cw, rng, n_models=K)
    opt = build_optimizer(cfg, net.params)
    train_w, test_w = train_m.astype(float), test_m.astype(float)
    log = train(net, Xs, y, opt, cfg["epochs"], sample_weight=train_w, monitor={"test": test_w},
                batch_size=cfg["batch_size"], rng=rng, progress=progress,
                desc=f"{K}-fold training", unit="fold")
    curves = log.curves

    def snapshot():
        preds = predict_outputs(net, Xs).argmax(axis=-1)
        cms = np.stack([confusion_matrix(y[te], preds[k, te], n_classes)
                        for k, (_, te) in enumerate(splits)])
        return preds, cms

    before = history = None
    if prune:
        pruner = prune if isinstance(prune, DistinctivenessPruner) else DistinctivenessPruner()
        _, cms = snapshot()
        before = {"confusions": cms, "n_hidden": np.asarray(net.n_live_units()),
                  "train_accuracy": evaluate(net, Xs, y, train_w)[1],
                  "test_accuracy": evaluate(net, Xs, y, test_w)[1]}
        history = prune_and_retrain(net, Xs, y, opt, epochs_per_round, pruner=pruner,
                                    sample_weight=train_w, validation_data=(Xs, y, test_w),
                                    progress=progress)
    preds, cms = snapshot()
    y_pred = np.empty_like(y)
    for k, (_, te) in enumerate(splits):
        y_pred[te] = preds[k, te]
    return CVResult(y_true=y, y_pred=y_pred, confusions=cms,
                    train_accuracy=evaluate(net, Xs, y, train_w)[1],
                    test_accuracy=evaluate(net, Xs, y, test_w)[1], curves=curves,
                    n_hidden=np.asarray(net.n_live_units()), net=net, before_pruning=before,
                    pruning=history, splits=list(splits))
