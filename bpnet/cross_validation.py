"""Cross-validation with every fold trained at once, as one stacked array program.

K folds become one :class:`~bpnet.BPNetwork` with ``n_models=K``: fold k's
inputs are normalised with statistics of its own training rows only (so the
input is ``(K, n, d)``), its training mask selects the rows its loss sees, and
its test mask the rows it is scored on. One ``matmul`` then trains all K
networks, which for the paper's 20 folds is far faster than 20 separate runs
and gives exactly the same numbers (the tests check this).
"""
from __future__ import annotations

import time
from typing import Sequence

import numpy as np

from .class_scores import decision_scores, probabilities
from .json_values import to_json_value
from .losses import class_weight_of_rows
from .metrics import accuracy_mean_std
from .preprocessing import Normalizer
from .prune_retrain import prune_and_retrain
from .pruning import DistinctivenessPruner
from .results import CURVES, CVResult, FoldResult
from .settings import Settings
from .splits import fold_masks
from .training import Curves, Progress, Rows, evaluate, predict_outputs, train


def normalize_per_fold(X: np.ndarray, train_masks: np.ndarray, **normalizer_kwargs) -> np.ndarray:
    """``(K, n, d)``: X normalised with each fold's training statistics (no leakage)."""
    return np.stack([Normalizer(**normalizer_kwargs).fit(X[m]).transform(X) for m in train_masks])


def cross_validate(X, y, splits, *, normalize: bool | dict = True, n_classes: int | None = None,
                   class_names: Sequence[str] | None = None,
                   sample_ids: Sequence[str] | None = None,
                   prune: bool | DistinctivenessPruner = False, epochs_per_round: int = 50,
                   random_state=0, progress: bool = False, **settings) -> CVResult:
    """Train one network per fold, all at once, and score each on its test fold.

    Parameters
    ----------
    X : (n, d)
        Features (raw: normalisation is fitted per fold when ``normalize``).
    y : (n,) int labels ``0..C-1``
    splits : list of (train_idx, test_idx)
        From :mod:`bpnet.splits`. A fold may have no test rows (its test curves are NaN).
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
        (the fields of :class:`bpnet.settings.Settings`: ``n_hidden``, ``hidden``,
        ``output``, ``loss``, ``optimizer``, ``lr``, ``epochs``, ``batch_size``,
        ``weight_decay``, ``momentum``, ``class_weight``, ``init``, ``dtype``,
        ``input_noise``) with the same defaults, except ``dtype``: float32 here (set
        ``dtype="float64"`` for exact comparisons).
        Class weights are fitted on each fold's training rows alone
        (:func:`bpnet.settings.class_weights`): a fold's test labels never reach its training.
    n_classes : int, optional
        Default ``max(y) + 1``.
    class_names, sample_ids : sequence of str, optional
        Recorded in the result (its tables and its predictions keyed by sample).

    Returns
    -------
    bpnet.results.CVResult
        Per-fold predictions, class probabilities (``FoldResult.scores``: the estimator's
        ``predict_proba``) and curves; ``extra`` holds the hidden units per fold and, with
        ``prune``, the pruning history and the accuracies before pruning; ``trained`` is the
        trained stack (its raw outputs: :func:`bpnet.training.predict_outputs`).

    Notes
    -----
    Fold k of the result equals training fold k alone with the same initial weights
    (to 1e-10 in float64, full batch; tested). A 1-fold run with ``normalize=False``
    equals :meth:`BPClassifier.fit <bpnet.BPClassifier.fit>` with the same settings and
    seed bit for bit.
    """
    cfg = Settings.from_dict(settings, dtype="float32")
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    n_classes = int(y.max()) + 1 if n_classes is None else n_classes
    train_m, test_m = fold_masks(splits, len(y))
    K = len(splits)
    t0 = time.perf_counter()
    if normalize:
        Xs = normalize_per_fold(X, train_m, **(normalize if isinstance(normalize, dict) else {}))
        _check_range(X, Xs, np.dtype(cfg.dtype))
    else:
        Xs = X
    rng = np.random.default_rng(random_state)
    train_w, test_w = train_m.astype(float), test_m.astype(float)
    # each fold's class weights from its own training labels only: (K, C)
    cw = None if cfg.class_weight is None else np.stack(
        [cfg.class_weights(y[m], n_classes) for m in train_m])
    if cw is not None and cfg.loss != "cross_entropy":  # MSE: on the samples, as in fit
        train_w = train_w * class_weight_of_rows(cw, y)
    net = cfg.build_network(X.shape[1], n_classes, rng, n_models=K,
                            class_weight=cw if cfg.loss == "cross_entropy" else None)
    # all parameters updated as one array: the same trajectory, a quarter of the calls
    opt = cfg.build_optimizer(net.params, flat=True)
    callbacks = [Curves()] + ([Progress(f"{K}-fold training")] if progress else [])
    log = train(net, Rows(Xs, y, train_w, {"test": test_w}), opt, cfg.epochs, callbacks,
                steps=cfg.steps(), rng=rng, unit="fold")
    extra: dict = {}
    if prune:
        pruner = prune if isinstance(prune, DistinctivenessPruner) else DistinctivenessPruner()
        before = _fold_results(net, Xs, y, splits, train_m, log.curves)
        extra["before_pruning"] = {
            "n_hidden": np.asarray(net.n_live_units()).tolist(),
            "test_accuracy": [f.test_accuracy for f in before],
            "train_accuracy": [f.train_accuracy for f in before],
            "confusions": np.stack([f.confusion(n_classes) for f in before]).tolist()}
        history = prune_and_retrain(net, Xs, y, opt, epochs_per_round, pruner=pruner,
                                    sample_weight=train_w, validation_data=(Xs, y, test_w),
                                    progress=progress)
        extra["pruning"] = history.to_dict()
    folds = _fold_results(net, Xs, y, splits, train_m, log.curves)
    n_hidden = np.asarray(net.n_live_units())
    extra["n_hidden"] = n_hidden.tolist()
    extra["summary"] = {"n_hidden_mean": float(n_hidden.mean())}
    if prune:
        b = extra["before_pruning"]
        b_mean, b_std = accuracy_mean_std(np.asarray(b["confusions"]))
        extra["summary"].update(test_accuracy_mean_before_pruning=b_mean,
                                test_accuracy_std_before_pruning=b_std,
                                n_hidden_mean_before_pruning=float(np.mean(b["n_hidden"])))
    settings = {**cfg.to_dict(), "class_weight": to_json_value(cfg.class_weight), "random_state":
                random_state if isinstance(random_state, (int, type(None))) else None,
                "normalize": normalize if isinstance(normalize, (bool, dict)) else True,
                "prune": None if not prune else {"criterion": pruner.criterion,
                                                 "compensate": pruner.compensate,
                                                 "epochs_per_round": epochs_per_round}}
    return CVResult("BP network", folds, tuple(class_names or _default_names(n_classes)), len(y),
                    list(sample_ids) if sample_ids is not None else None, settings,
                    {"seconds": time.perf_counter() - t0, "numpy": np.__version__}, extra,
                    trained=net)


def _fold_results(net, Xs, y, splits, train_m, curves) -> list[FoldResult]:
    """Per-fold predictions, class probabilities and curves of the trained stack.

    The probabilities are :class:`~bpnet.BPClassifier`'s ``predict_proba`` of the same
    outputs (:mod:`bpnet.class_scores`: sigmoid outputs divided by their sum), computed from
    the output pre-activations so that a saturated output stays finite; the prediction is
    their argmax, as ``predict``'s.
    """
    logits = predict_outputs(net, Xs, logits=True)  # (K, n, C)
    train_acc = evaluate(net, Xs, y, train_m.astype(float))[1]
    folds = []
    for k, (tr, te) in enumerate(splits):
        te = np.asarray(te, np.int64)
        proba = probabilities(net.output, decision_scores(net.output, logits[k, te]))
        folds.append(FoldResult(te, y[te], proba.argmax(axis=-1), proba,
                                len(tr), float(train_acc[k]),
                                {name: curves[name][:, k].tolist() for name in CURVES}))
    return folds


def _check_range(X: np.ndarray, Xs: np.ndarray, dtype: np.dtype) -> None:
    """Name the raw value whose normalised form the network's dtype cannot hold."""
    big = np.abs(Xs) > np.finfo(dtype).max / 1e3  # a margin: the first layer multiplies them
    if big.any():
        k, i, j = (int(v) for v in np.argwhere(big)[0])
        raise ValueError(f"X[{i}, {j}] = {X[i, j]:.6g} is out of range: normalised with fold "
                         f"{k}'s training rows it is {Xs[k, i, j]:.3g}, beyond what {dtype.name} "
                         "arithmetic can use; check this value in the data")


def _default_names(n_classes: int) -> tuple[str, ...]:
    return tuple(f"class {c}" for c in range(n_classes))

